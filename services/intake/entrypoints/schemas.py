"""HTTP bodies of intake's API, with the limits every field must respect."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.intake.domain.priority import Level

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()-]{5,30}$")]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]


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


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    name: Name
    phone: Phone | None = None
    email: Email | None = None


class SubmitRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: CustomerIn
    channel: Channel
    kind: Kind
    category: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
    urgency: Level
    impact: Level
    location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class CustomerOut(BaseModel):
    id: str
    name: str
    phone: str | None = None
    email: str | None = None


class RequestView(BaseModel):
    id: str
    status: str
    priority: str | None = None
    emergency: bool = False
    respond_by: datetime | None = None
    resolve_by: datetime | None = None
    channel: str
    kind: str
    category: str | None = None
    title: str
    description: str
    urgency: str
    impact: str
    location: str | None = None
    customer: CustomerOut
    owner: str
    received_at: datetime
    version: int = Field(description="stream version; changes with every recorded event")
