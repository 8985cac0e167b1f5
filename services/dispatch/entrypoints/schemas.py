"""HTTP bodies of dispatch's API."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SkillName = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=60)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Skill(Body):
    name: SkillName
    level: int = Field(default=3, ge=1, le=5)


class Kind(str, Enum):
    person = "person"
    equipment = "equipment"
    partner = "partner"


class RegisterResource(Body):
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = Field(
        default=None, description="optional; a technician's token subject is their resource id")
    name: Name
    kind: Kind = Kind.person
    skills: list[SkillName | Skill] = Field(min_length=1, max_length=50, description="names (level 3) or {name, level}")
    capacity: int = Field(ge=1, le=100)
    zone: Name | None = None
    team: Name | None = Field(default=None, description="the team it belongs to (reports group staff by it)")
    shift: dict[str, Any] | None = Field(default=None, description="a calendar spec: when the resource works")


class UpdateResource(Body):
    name: Name | None = None
    skills: list[SkillName | Skill] | None = Field(default=None, min_length=1, max_length=50)
    capacity: int | None = Field(default=None, ge=1, le=100)
    zone: Name | None = None
    team: Name | None = None
    shift: dict[str, Any] | None = None
    reason: Reason


class Availability(str, Enum):
    on_duty = "on_duty"
    off_duty = "off_duty"
    on_leave = "on_leave"


class ChangeAvailability(Body):
    status: Availability
    until: datetime | None = None
    reason: Reason


class Allocate(Body):
    resource_id: Name
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
    resolution_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    summary: Text


class Level(str, Enum):
    team_lead = "team_lead"
    manager = "manager"


class Escalate(Body):
    reason: Reason
    level: Level = Level.team_lead


def skill_levels(skills: list[str | Skill]) -> dict[str, int]:
    return {s: 3 for s in skills if isinstance(s, str)} | {s.name: s.level for s in skills if isinstance(s, Skill)}
