"""Where a request is, as dispatch's allocation counts it (`same_zone`). Pure.

A client may name the zone; otherwise it is looked up from the location by configuration: the
longest configured prefix the location starts with, ignoring case ("Floor 2" covers "floor 2,
room 12"). Unknown locations have no zone, and dispatch then scores nobody for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ZoneMap:
    by_prefix: dict[str, str] = field(default_factory=dict)  # location prefix -> zone

    def zone_of(self, location: str | None) -> str | None:
        if not location:
            return None
        where = location.strip().casefold()
        matches = [p for p in self.by_prefix if where.startswith(p.strip().casefold())]
        return self.by_prefix[max(matches, key=len)] if matches else None
