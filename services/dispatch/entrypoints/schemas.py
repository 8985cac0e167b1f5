"""HTTP bodies of dispatch's API; every field bounded by shared/limits.py."""
from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from typing_extensions import TypedDict

from shared import limits
from shared.limits import Capacity, Code, Id, Name, Reason, Text

SkillName = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1,
                                             max_length=limits.CODE_MAX), limits.NoNul]
Day = Annotated[str, StringConstraints(strip_whitespace=True, max_length=limits.DATE_MAX), limits.NoNul]
Interval = Annotated[str, StringConstraints(strip_whitespace=True, max_length=limits.INTERVAL_MAX), limits.NoNul]
Weekday = Annotated[str, StringConstraints(max_length=limits.CODE_MAX), limits.NoNul]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Skill(Body):
    name: SkillName
    level: limits.SkillLevel = 3


# A bare name is a skill at level 3. Read as a Skill (not a union of the two) so that a bad item is
# named `skills.0.name`, not after the union's branches.
SkillIn = Annotated[Skill, BeforeValidator(lambda v: {"name": v} if isinstance(v, str) else v,
                                           json_schema_input_type=SkillName | Skill)]


class Shift(TypedDict, total=False):
    """A calendar spec (shared/calendar.py), kept a plain dict as sent; only its size is checked
    here (the domain checks its meaning, naming `shift`)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]  # pydantic reads it
    name: Name
    timezone: limits.TimeZone
    hours: Annotated[dict[Weekday, Annotated[list[Interval], Field(max_length=limits.INTERVALS_MAX)]],
                     Field(max_length=limits.WEEKDAYS_MAX)]
    holidays: Annotated[list[Day], Field(max_length=limits.HOLIDAYS_MAX)]
    always_open: bool


class Kind(str, Enum):
    person = "person"
    equipment = "equipment"
    partner = "partner"


class RegisterResource(Body):
    id: Id | None = Field(default=None, description="optional; a technician's token subject is their resource id")
    name: Name
    kind: Kind = Kind.person
    skills: list[SkillIn] = Field(min_length=1, max_length=limits.SKILLS_MAX,
                                  description="names (level 3) or {name, level}")
    capacity: Capacity
    zone: Name | None = None
    team: Name | None = Field(default=None, description="the team it belongs to (reports group staff by it)")
    shift: Shift | None = Field(default=None, description="a calendar spec: when the resource works")


class UpdateResource(Body):
    """Fields left out stay as they are; null clears zone, team or shift and is refused (422 naming
    it) for name, skills and capacity, which every resource has (typed without None: the default
    is not validated, an explicit null is)."""
    name: Name = Field(default=None)
    skills: list[SkillIn] = Field(default=None, min_length=1, max_length=limits.SKILLS_MAX)
    capacity: Capacity = Field(default=None)
    zone: Name | None = None
    team: Name | None = None
    shift: Shift | None = None
    reason: Reason


class Availability(str, Enum):
    on_duty = "on_duty"
    off_duty = "off_duty"
    on_leave = "on_leave"


class ChangeAvailability(Body):
    status: Availability
    until: limits.Instant | None = None
    reason: Reason


class Allocate(Body):
    resource_id: Id
    reason: Reason


class Decline(Body):
    reason: Reason


class Note(Body):
    note: Text
    milestone: Name | None = None


class WaitingOn(str, Enum):
    customer = "customer"
    parts = "parts"
    other = "other"


class Pause(Body):
    waiting_on: WaitingOn = WaitingOn.customer
    note: Text | None = None


class Resolve(Body):
    resolution_code: Code
    summary: Text


class Level(str, Enum):
    team_lead = "team_lead"
    manager = "manager"


class Escalate(Body):
    reason: Reason
    level: Level = Level.team_lead


def skill_levels(skills: list[str | Skill]) -> dict[str, int]:
    return {s: 3 for s in skills if isinstance(s, str)} | {s.name: s.level for s in skills if isinstance(s, Skill)}
