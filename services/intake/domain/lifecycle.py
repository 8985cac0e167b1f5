"""One lifecycle of a service request, the vocabulary every service's answers use. Pure.

Intake owns it. Its own commands move a request (acknowledge, withdraw, merge); dispatch's and
feedback's facts move it too (allocated, in progress, paused, resolved, closed), recorded in the
request's stream as `RequestProgressed` when intake's consumer reads them. The tables below are the
rules: `COMMANDS` says in which states each command is accepted (anything else is a 409 naming
the state), `FACTS` which state each outside fact leads to. The README renders both, and a
property test holds the aggregate to them.
"""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    received = "received"
    triaged = "triaged"
    acknowledged = "acknowledged"
    allocated = "allocated"
    in_progress = "in_progress"
    paused = "paused"
    resolved = "resolved"
    closed = "closed"
    reopened = "reopened"
    withdrawn = "withdrawn"
    merged = "merged"


S = Status
# Someone still owes the customer something: the desk may change, withdraw or merge it.
OPEN = frozenset({S.triaged, S.acknowledged, S.allocated, S.in_progress, S.paused, S.reopened})
FINAL = frozenset({S.closed, S.withdrawn, S.merged})
WITH_A_HOLDER = frozenset({S.allocated, S.in_progress, S.paused})

COMMANDS: dict[str, frozenset[Status]] = {
    # First response. Dispatch may allocate before anyone answered the customer: then it is still
    # owed, so it is accepted while held, but only once (see `acknowledge_allowed`).
    "acknowledge": frozenset({S.triaged, S.reopened}) | WITH_A_HOLDER,
    "triage": OPEN,
    "confirm the need of": OPEN,
    "update": OPEN,
    "withdraw": OPEN,
    "merge": OPEN,
    "take ownership of": OPEN,
    "record a contact on": frozenset(Status),  # a call about a closed request is still a call
    # The customer rejected the resolution. Feedback's rejection may arrive before dispatch's
    # IssueResolved (two topics): a request still held counts as resolved for this.
    "reopen": WITH_A_HOLDER | {S.resolved},
}

# What each outside fact means for the request (the name is the fact's event, by its producer).
FACTS: dict[str, Status | None] = {
    "dispatch.ResourceAllocated": S.allocated,
    "dispatch.AllocationDeclined": None,  # back to waiting for someone: acknowledged or triaged
    "dispatch.WorkStarted": S.in_progress,
    "dispatch.WorkPaused": S.paused,
    "dispatch.WorkResumed": S.in_progress,
    "dispatch.IssueResolved": S.resolved,
    "feedback.RequestClosed": S.closed,
}


def command_allowed(action: str, status: Status, acknowledged: bool) -> bool:
    if action == "acknowledge" and status in WITH_A_HOLDER and acknowledged:
        return False
    return status in COMMANDS[action]


def after_fact(fact: str, status: Status, acknowledged: bool) -> Status | None:
    """The state an outside fact leads to, or None when it changes nothing (a final request, or
    a fact that would not move it)."""
    if status in FINAL or status is S.received:
        return None
    target = FACTS[fact]
    if target is None:  # an allocation declined: the request waits for someone again
        if status is not S.allocated:
            return None
        target = S.acknowledged if acknowledged else S.triaged
    return None if target is status else target
