"""What feedback is asked to do: one frozen dataclass per command, named for what it does.

Those with a `caller` may be sent by a customer, who acts on their own requests only. The rest
come from the desk, from other services' facts (through the consumer) or from the clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Caller:
    """Who sends a command: their id, and whether they are a customer."""

    id: str
    is_customer: bool = False

    def owns(self, customer_id: str | None) -> bool:
        """A request feedback knows nothing of is nobody's; a customer's own are theirs alone."""
        return customer_id is not None and (not self.is_customer or customer_id == self.id)


# The customer's word on a resolution
@dataclass(frozen=True)
class ConfirmResolution:
    request_id: str
    caller: Caller


@dataclass(frozen=True)
class RejectResolution:
    request_id: str
    reason: str | None
    caller: Caller


@dataclass(frozen=True)
class ReturnSurvey:
    """The survey link (signed, read by the entrypoint) is the credential: no caller."""

    request_id: str
    survey_id: str
    csat: int
    nps: int | None = None
    dimensions: dict[str, int] = field(default_factory=dict)
    comment: str | None = None


@dataclass(frozen=True)
class CompleteFollowUp:
    request_id: str
    outcome: str
    caller: Caller


# Feedback items
@dataclass(frozen=True)
class GiveFeedback:
    kind: str
    text: str
    caller: Caller
    request_id: str | None = None


@dataclass(frozen=True)
class AcknowledgeFeedback:
    feedback_id: str
    by: str
    note: str | None = None


@dataclass(frozen=True)
class InvestigateFeedback:
    feedback_id: str
    by: str
    findings: str


@dataclass(frozen=True)
class ResolveFeedback:
    feedback_id: str
    by: str
    outcome: str


# Improvement actions
@dataclass(frozen=True)
class OpenImprovementAction:
    title: str
    plan: str
    owner: str
    due_at: datetime
    by: str
    answers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProgressImprovementAction:
    action_id: str
    stage: str
    note: str
    by: str


# Other services' facts (feedback's consumer) and the clock (the closer)
@dataclass(frozen=True)
class RequestConfirmation:
    """Dispatch resolved the work: ask the customer to confirm."""

    request_id: str
    resolution_code: str
    summary: str


@dataclass(frozen=True)
class RaiseComplaint:
    """Intake took the request as a complaint: feedback handles it as one, from when it was received."""

    request_id: str
    customer_id: str
    text: str
    received_at: datetime


@dataclass(frozen=True)
class AcknowledgeRaisedComplaint:
    """Intake acknowledged a request it took as a complaint: the complaint is acknowledged with it."""

    request_id: str
    by: str
    note: str | None
    at: datetime


@dataclass(frozen=True)
class CloseWithoutSurvey:
    """The request ended without a resolution (withdrawn, merged)."""

    request_id: str
    how: str


@dataclass(frozen=True)
class CloseUnanswered:
    request_id: str


@dataclass(frozen=True)
class EscalateLateComplaint:
    feedback_id: str
