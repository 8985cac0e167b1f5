"""HTTP bodies of intake's API; every field bounded by shared/limits.py."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from services.intake.domain.lifecycle import Status
from services.intake.domain.priority import Level
from shared import limits
from shared.limits import Id, Location, Reason, Remark

Text = limits.Name  # a title, a name, a category: one line
LongText = limits.Text
# Both patterns bound the length too: a phone number has at most 31 characters.
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()\-]{5,30}$")]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=limits.EMAIL_MAX, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    limits.NoNul,
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Channel(str, Enum):
    phone = "phone"
    email = "email"
    web = "web"
    chat = "chat"
    walk_in = "walk_in"
    internal = "internal"


class Kind(str, Enum):
    consultation = "consultation"
    fault = "fault"
    complaint = "complaint"
    suggestion = "suggestion"
    internal = "internal"


class ContactVia(str, Enum):
    """How a contact happened. A request's channel names (how it came in) that mean the same
    thing are taken too: `phone` is a call, `walk_in` a visit (CHANNEL_AS_VIA)."""

    call = "call"
    email = "email"
    visit = "visit"
    chat = "chat"
    sms = "sms"
    letter = "letter"


CHANNEL_AS_VIA = {"phone": "call", "walk_in": "visit"}


def _via(value: object) -> object:
    return CHANNEL_AS_VIA.get(value, value) if isinstance(value, str) else value


class Direction(str, Enum):
    inbound = "inbound"
    outbound = "outbound"


class CustomerIn(Body):
    id: Id
    name: Text
    phone: Phone | None = None
    email: Email | None = None


class SubmitRequestBody(Body):
    customer: CustomerIn
    channel: Channel
    kind: Kind
    category: Text | None = None
    title: Text
    description: LongText
    urgency: Level
    impact: Level
    location: Location | None = None
    zone: limits.Name | None = None  # else looked up from the location (INTAKE_RULES_FILE "zones")


class AcknowledgeBody(Body):
    message: Remark | None = None


class TriageBody(Body):
    urgency: Level | None = None
    impact: Level | None = None
    category: Text | None = None
    # true sends the request to dispatch as work (a complaint is feedback's alone until then);
    # once sent, false is a 409. Absent: as the last triage said.
    dispatch: bool | None = None
    reason: Reason


class ConfirmNeedBody(Body):
    what: LongText
    where: Location | None = None
    when: Text | None = None
    note: Remark | None = None


# In a change, a field left out stays as it is; null clears an optional field and is refused (422
# naming it) for one every request has: those are typed without None, and the default is not validated.
class CustomerChanges(Body):
    name: Text = Field(default=None)
    phone: Phone | None = None
    email: Email | None = None


class UpdateBody(Body):
    title: Text = Field(default=None)
    description: LongText = Field(default=None)
    location: Location | None = None
    customer: CustomerChanges | None = None
    reason: Reason


class ContactBody(Body):
    via: Annotated[ContactVia, BeforeValidator(_via), WithJsonSchema(
        {"type": "string", "enum": [v.value for v in ContactVia] + list(CHANNEL_AS_VIA)})]
    direction: Direction
    summary: LongText
    at: limits.Instant | None = Field(default=None, description="when it happened; default now")


class WithdrawBody(Body):
    reason: Reason


class MergeBody(Body):
    into: Id
    reason: Reason


class CustomerOut(BaseModel):
    id: str
    name: str
    phone: str | None = None
    email: str | None = None


class Duplicate(BaseModel):
    id: str
    title: str
    similarity: float = Field(description="0..1, how alike the two requests read")


class RequestView(BaseModel):
    id: str
    status: Status  # the request's lifecycle state: one vocabulary across the services
    priority: str | None = None
    emergency: bool = False
    respond_by: datetime | None = None
    resolve_by: datetime | None = None
    sla_policy: str | None = None
    channel: str
    kind: str
    category: str | None = None
    title: str
    description: str
    urgency: str
    impact: str
    location: str | None = None
    zone: str | None = None  # as dispatch's allocation counts it
    customer: CustomerOut
    owner: str
    triaged_by: str | None = None
    needs_review: bool = False
    dispatch: bool = True  # whether dispatch works it (a complaint: only once the desk says so)
    received_at: datetime
    acknowledged_at: datetime | None = None
    need_confirmed_at: datetime | None = None
    merged_into: str | None = None
    reopen_count: int = 0
    contacts: int = 0
    version: int = Field(description="stream version; changes with every recorded event")


class SubmittedView(RequestView):
    possible_duplicates: list[Duplicate] = []


class RequestSummary(BaseModel):
    id: str
    customer_id: str
    channel: str
    kind: str
    category: str | None = None
    title: str
    priority: str | None = None
    emergency: bool | None = None
    status: Status  # the request's lifecycle state: one vocabulary across the services
    owner: str | None = None
    needs_review: bool
    received_at: datetime
    respond_by: datetime | None = None
    resolve_by: datetime | None = None
    acknowledged_at: datetime | None = None
    response_at_risk: bool = False
    response_breached: bool = False


class Page(BaseModel):
    items: list[RequestSummary]
    next_cursor: str | None = None
