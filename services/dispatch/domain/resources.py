"""The resource aggregate: a person, a piece of equipment or an external partner."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.aggregate import Aggregate
from shared.calendar import BusinessCalendar
from shared.contracts import dispatch as ev
from shared.errors import Invalid

KINDS = ("person", "equipment", "partner")
STATUSES = ("on_duty", "off_duty", "on_leave")
REQUIRED = ("name", "skills", "capacity")  # an update changes these, never removes them
NEEDS_APPROVAL = frozenset({"partner"})  # the rule: work given to an external partner is approved first


class Resource(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.id, self.name, self.kind = "", "", "person"
        self.skills: dict[str, int] = {}
        self.capacity, self.zone, self.team = 1, None, None
        self.shift: BusinessCalendar | None = None
        self.status, self.until = "on_duty", None

    @classmethod
    def register(cls, resource_id: str, name: str, kind: str, skills: dict[str, int], capacity: int,
                 zone: str | None, shift: dict[str, Any] | None, by: str, now: datetime,
                 *, team: str | None = None) -> "Resource":
        if kind not in KINDS:
            raise Invalid("kind", f"one of {', '.join(KINDS)}")
        if shift is not None:
            _calendar(shift)
        resource = cls()
        resource.record(ev.ResourceRegistered(
            resource_id=resource_id, name=name, kind=kind, skills=skills, capacity=capacity, zone=zone,
            team=team, shift=shift, registered_by=by, registered_at=now))
        return resource

    def update(self, changes: dict[str, Any], load: int, reason: str, by: str, now: datetime) -> bool:
        for name in REQUIRED:
            if name in changes and changes[name] in (None, "", {}, []):
                raise Invalid(name, "is required: it can be changed, not removed")
        if "capacity" in changes and changes["capacity"] < load:
            raise Invalid("capacity", f"cannot go below the {load} job(s) {self.id} holds now")
        if changes.get("shift") is not None:  # compared in the calendar's own form, not as sent
            changes = {**changes, "shift": _calendar(changes["shift"]).to_spec()}
        current = {"name": self.name, "skills": self.skills, "capacity": self.capacity, "zone": self.zone,
                   "team": self.team, "shift": self.shift.to_spec() if self.shift else None}
        changed = {k: v for k, v in changes.items() if current.get(k) != v}
        if changed:
            self.record(ev.ResourceUpdated(resource_id=self.id, changes=changed, reason=reason, updated_by=by,
                                           updated_at=now))
        return bool(changed)

    def set_availability(self, status: str, until: datetime | None, reason: str, by: str, now: datetime) -> None:
        if status not in STATUSES:
            raise Invalid("status", f"one of {', '.join(STATUSES)}")
        self.record(ev.ResourceAvailabilityChanged(resource_id=self.id, status=status, until=until, reason=reason,
                                                   changed_by=by, changed_at=now))

    def available_at(self, at: datetime) -> bool:
        return available(self.status, self.until, self.shift, at)

    def when_ResourceRegistered(self, e: ev.ResourceRegistered) -> None:
        self.id, self.name, self.kind, self.skills = e.resource_id, e.name, e.kind, dict(e.skills)
        self.capacity, self.zone, self.team = e.capacity, e.zone, e.team
        self.shift = _calendar(e.shift) if e.shift else None

    def when_ResourceUpdated(self, e: ev.ResourceUpdated) -> None:
        for key, value in e.changes.items():
            setattr(self, key, _calendar(value) if key == "shift" and value else value)

    def when_ResourceAvailabilityChanged(self, e: ev.ResourceAvailabilityChanged) -> None:
        self.status, self.until = e.status, e.until


def available(status: str, until: datetime | None, shift: BusinessCalendar | None, at: datetime) -> bool:
    """On duty, not on leave (or back from it), and on shift at `at` when a shift is set."""
    if status == "off_duty" or (status == "on_leave" and (until is None or at < until)):
        return False
    return shift is None or shift.is_open(at)


def _calendar(spec: dict[str, Any]) -> BusinessCalendar:
    try:
        return BusinessCalendar.from_spec(spec)
    except (ValueError, KeyError, TypeError) as exc:
        raise Invalid("shift", str(exc)) from exc
