"""What clients ask intake to do."""
from __future__ import annotations

from dataclasses import dataclass

from services.intake.domain.priority import Level


@dataclass(frozen=True)
class CustomerDetails:
    id: str
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class SubmitRequest:
    customer: CustomerDetails
    channel: str
    kind: str
    title: str
    description: str
    urgency: Level
    impact: Level
    taken_by: str
    category: str | None = None
    location: str | None = None
