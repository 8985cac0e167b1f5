"""Intake's facts. Names and meanings are public (CONTRACT.md): never renamed, only versioned."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict

from shared.events import PERSONAL, DomainEvent, EventRegistry

registry = EventRegistry("intake")


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: Annotated[str, PERSONAL]
    phone: Annotated[str | None, PERSONAL] = None
    email: Annotated[str | None, PERSONAL] = None


class SlaTargets(BaseModel):
    """The policy in force when the request was triaged, recorded so history never shifts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: str
    calendar: str
    respond_minutes: int
    resolve_minutes: int


@registry.register
class RequestReceived(DomainEvent):
    request_id: str
    customer: Customer
    channel: str
    kind: str
    category: str | None = None
    title: str
    description: str
    urgency: str
    impact: str
    location: Annotated[str | None, PERSONAL] = None
    owner: str
    received_at: datetime


@registry.register
class RequestTriaged(DomainEvent):
    request_id: str
    priority: str
    kind: str
    channel: str
    category: str | None = None
    emergency: bool
    respond_by: datetime
    resolve_by: datetime
    sla: SlaTargets
