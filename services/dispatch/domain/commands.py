"""What dispatch is asked to do: one frozen dataclass per command, named for what it does.

Those sent over HTTP carry their `caller`: a technician works only the jobs allocated to them and
changes only their own resource (their token's subject is their resource id); dispatchers and
agents act for anyone. The rest come from intake's decisions (through the consumer) and from the
allocator.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.contracts import intake


@dataclass(frozen=True)
class Caller:
    """Who sends a command: their id (a technician's is their resource id), and whether they are one."""

    id: str
    is_technician: bool = False


# Allocation
@dataclass(frozen=True)
class AllocateJob:
    """Manual allocation or reassignment; to a partner it waits for a dispatcher's approval."""

    request_id: str
    resource_id: str
    reason: str
    caller: Caller


@dataclass(frozen=True)
class ApproveAllocation:
    request_id: str
    caller: Caller


@dataclass(frozen=True)
class AcceptJob:
    request_id: str
    caller: Caller


@dataclass(frozen=True)
class DeclineJob:
    request_id: str
    reason: str
    caller: Caller


# The work
@dataclass(frozen=True)
class StartWork:
    request_id: str
    caller: Caller


@dataclass(frozen=True)
class AddNote:
    request_id: str
    note: str
    milestone: str | None
    caller: Caller


@dataclass(frozen=True)
class PauseWork:
    request_id: str
    waiting_on: str
    note: str | None
    caller: Caller


@dataclass(frozen=True)
class ResumeWork:
    request_id: str
    caller: Caller


@dataclass(frozen=True)
class ResolveJob:
    request_id: str
    resolution_code: str
    summary: str
    caller: Caller


@dataclass(frozen=True)
class EscalateJob:
    request_id: str
    level: str
    reason: str
    caller: Caller


# Resources
@dataclass(frozen=True)
class RegisterResource:
    """`resource_id` None: one is drawn (from the idempotency key, when there is one)."""

    resource_id: str | None
    name: str
    kind: str
    skills: dict[str, int]
    capacity: int
    zone: str | None
    shift: Any
    team: str | None
    caller: Caller


@dataclass(frozen=True)
class UpdateResource:
    resource_id: str
    changes: dict[str, Any] = field(hash=False)
    reason: str
    caller: Caller


@dataclass(frozen=True)
class ChangeAvailability:
    resource_id: str
    status: str
    until: datetime | None
    reason: str
    caller: Caller


# What intake decided (the consumer sends these, in the transaction that consumes intake's record)
@dataclass(frozen=True)
class OpenJob:
    """A triaged request: its job opened and allocated when someone is free; a re-triage followed."""

    triaged: intake.RequestTriaged


@dataclass(frozen=True)
class ReleaseJob:
    """The request was withdrawn or merged."""

    request_id: str
    reason: str


@dataclass(frozen=True)
class RecordResponse:
    """Intake acknowledged the request: the response clock stops."""

    request_id: str
    acknowledged_at: datetime


@dataclass(frozen=True)
class CloseUnanswered:
    """The request closed unanswered: it owes no response any more."""

    request_id: str
    closed_at: datetime


@dataclass(frozen=True)
class ReopenJob:
    """The customer rejected the resolution."""

    reopened: intake.RequestReopened


# The allocator's
@dataclass(frozen=True)
class FireTimer:
    """An SLA timer of the job came due (the scheduler sends this): warn, breach or escalate."""

    request_id: str
    timer: str


@dataclass(frozen=True)
class AllocateWaiting:
    """Give a waiting job to the best resource free now, or to `resource_id` (a batch's plan)."""

    request_id: str
    resource_id: str | None = None
    score: dict[str, float] | None = field(default=None, hash=False)
