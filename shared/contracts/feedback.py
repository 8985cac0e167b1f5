"""Feedback's facts. Names and meanings are public (CONTRACT.md): never renamed, only versioned."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from shared.events import PERSONAL, DomainEvent, EventRegistry

registry = EventRegistry("feedback")
_TAKEN_AT_INTAKE = uuid.UUID("6f1d2b7e-8a4c-4b53-9d0e-3c2a5f7b1e90")


def complaint_taken_at_intake(request_id: str) -> str:
    """The id of the complaint feedback raises for a request intake took as a complaint: one per
    request, derived so that a redelivered record raises none twice and intake knows it by its id."""
    return str(uuid.uuid5(_TAKEN_AT_INTAKE, request_id))


@registry.register
class ConfirmationRequested(DomainEvent):
    """The work is resolved: the customer is asked to confirm; silence closes it at `closes_at`."""

    request_id: str
    resolution_code: str
    summary: str
    closes_at: datetime
    requested_at: datetime


@registry.register
class ResolutionConfirmed(DomainEvent):
    request_id: str
    confirmed_by: str
    confirmed_at: datetime


@registry.register
class ResolutionRejected(DomainEvent):
    request_id: str
    reason: Annotated[str, PERSONAL]
    rejected_by: str
    rejected_at: datetime


@registry.register
class RequestClosed(DomainEvent):
    request_id: str
    how: str  # confirmed | auto | withdrawn | merged | complaint_resolved
    closed_at: datetime


@registry.register
class SurveySent(DomainEvent):
    request_id: str
    survey_id: str
    expires_at: datetime
    sent_at: datetime


@registry.register
class SurveyReturned(DomainEvent):
    request_id: str
    survey_id: str
    csat: int
    nps: int | None = None
    dimensions: dict[str, int] = {}
    comment: Annotated[str | None, PERSONAL] = None
    returned_at: datetime


@registry.register
class FeedbackReceived(DomainEvent):
    subject_field = "subject_id"

    feedback_id: str
    subject_id: str  # the request it is about, else the feedback item itself
    kind: str
    request_id: str | None = None
    text: Annotated[str, PERSONAL]
    given_by: str
    respond_by: datetime
    received_at: datetime
    # v2: "intake" for a complaint intake took as a request (`complaint_taken_at_intake`), which
    # intake's acknowledgement answers; "feedback" for one given to feedback.
    via: Literal["feedback", "intake"] = "feedback"

    version: ClassVar[int] = 2


@registry.upcaster("FeedbackReceived", 1)
def upcast_feedback_received_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "via": "feedback"}  # before v2 every item was given to feedback


@registry.register
class FollowUpScheduled(DomainEvent):
    request_id: str
    reason: str
    due_at: datetime
    scheduled_at: datetime


class ItemEvent(DomainEvent):
    subject_field = "subject_id"


@registry.register
class FeedbackAcknowledged(ItemEvent):
    feedback_id: str
    subject_id: str
    acknowledged_by: str
    note: str | None = None
    acknowledged_at: datetime


@registry.register
class FeedbackInvestigated(ItemEvent):
    """Someone is finding out what happened (and says what they found so far)."""

    feedback_id: str
    subject_id: str
    investigator: str
    findings: str
    investigated_at: datetime


@registry.register
class FeedbackResolved(ItemEvent):
    feedback_id: str
    subject_id: str
    outcome: str
    resolved_by: str
    within_deadline: bool
    resolved_at: datetime


@registry.register
class FeedbackEscalated(ItemEvent):
    """A complaint not handled by its deadline: no shirking, no avoiding, no delay."""

    feedback_id: str
    subject_id: str
    reason: str
    escalated_at: datetime


@registry.register
class FeedbackWithdrawn(ItemEvent):
    """A complaint intake took as a request ended with that request (withdrawn or merged) before
    it was resolved: nothing more is owed on it, and it never escalates."""

    feedback_id: str
    subject_id: str
    reason: str
    withdrawn_at: datetime


@registry.register
class FollowUpCompleted(DomainEvent):
    request_id: str
    outcome: str
    completed_by: str
    completed_at: datetime


class ActionEvent(DomainEvent):
    subject_field = "action_id"


@registry.register
class ImprovementActionOpened(ActionEvent):
    action_id: str
    title: str
    plan: str
    owner: str
    due_at: datetime
    answers: list[str]  # the feedback items it answers (may be none: opened by hand)
    opened_by: str
    opened_at: datetime


@registry.register
class ImprovementActionProgressed(ActionEvent):
    action_id: str
    stage: str
    note: str
    by: str
    at: datetime
