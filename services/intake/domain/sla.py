"""SLA policy: response and resolution targets per priority (optionally per category), each run
on a calendar. The policy in force is recorded in RequestTriaged, so changing it never rewrites
history."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from services.intake.domain.priority import Priority
from shared.calendar import BusinessCalendar

_DURATION = re.compile(r"^\s*(\d+)\s*(h|d)\s*$")


@dataclass(frozen=True)
class Duration:
    """`4h`: hours of the calendar's open time (elapsed hours on 24x7); `3d`: open days."""

    amount: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> "Duration":
        match = _DURATION.match(text)
        if not match:
            raise ValueError(f"bad SLA duration {text!r}: use e.g. 4h or 3d")
        return cls(int(match.group(1)), match.group(2))

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def after(self, start: datetime, calendar: BusinessCalendar) -> datetime:
        if self.unit == "d":
            return calendar.add_business_days(start, self.amount)
        return calendar.add_business_time(start, timedelta(hours=self.amount))


@dataclass(frozen=True)
class Target:
    respond: Duration
    resolve: Duration
    calendar: str


@lru_cache(maxsize=64)
def spec_of(calendar: BusinessCalendar) -> dict[str, Any]:
    """The calendar as recorded in events (read-only: shared between callers)."""
    return calendar.to_spec()


@dataclass(frozen=True)
class Deadlines:
    respond_by: datetime
    resolve_by: datetime
    target: Target
    calendar: BusinessCalendar


BUSINESS = BusinessCalendar.from_spec({
    "name": "business", "timezone": "UTC",
    "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": [],
})


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    calendars: dict[str, BusinessCalendar]
    targets: dict[Priority, Target]
    by_category: dict[str, dict[Priority, Target]] = field(default_factory=dict)

    def target(self, priority: Priority, category: str | None) -> Target:
        matches = [c for c in self.by_category if category and (category == c or category.startswith(c + " > "))]
        overrides = self.by_category[max(matches, key=len)] if matches else {}
        return overrides.get(priority, self.targets[priority])

    def deadlines(self, priority: Priority, category: str | None, start: datetime) -> Deadlines:
        target = self.target(priority, category)
        calendar = self.calendars[target.calendar]
        return Deadlines(target.respond.after(start, calendar), target.resolve.after(start, calendar), target, calendar)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> "SlaPolicy":
        calendars = {"24x7": BusinessCalendar.always_open(), "business": BUSINESS}
        for c in spec.get("calendars", []):
            calendars[c["name"]] = BusinessCalendar.from_spec(c)

        def targets(raw: dict[str, Any]) -> dict[Priority, Target]:
            parsed = {
                Priority(p): Target(Duration.parse(t["respond"]), Duration.parse(t["resolve"]), t["calendar"])
                for p, t in raw.items()
            }
            unknown = {t.calendar for t in parsed.values()} - set(calendars)
            if unknown:
                raise ValueError(f"SLA targets name unknown calendars: {sorted(unknown)}")
            return parsed

        policy = cls(
            name=spec["name"],
            calendars=calendars,
            targets=targets(spec["targets"]),
            by_category={c: targets(t) for c, t in spec.get("by_category", {}).items()},
        )
        if set(policy.targets) != set(Priority):
            raise ValueError("SLA policy needs targets for every priority P1..P4")
        return policy


# "24 h" and "48 h" for ordinary work are read as 1 and 2 business days: that clock runs in
# business hours only, and a business day is the unit service manuals mean by them.
DEFAULT_POLICY = SlaPolicy.from_spec({
    "name": "default-2026",
    "targets": {
        "P1": {"respond": "1h", "resolve": "4h", "calendar": "24x7"},
        "P2": {"respond": "4h", "resolve": "1d", "calendar": "business"},
        "P3": {"respond": "1d", "resolve": "3d", "calendar": "business"},
        "P4": {"respond": "2d", "resolve": "5d", "calendar": "business"},
    },
})
