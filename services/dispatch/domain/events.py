"""Dispatch's facts. Names and meanings are public (CONTRACT.md): never renamed, only versioned."""
from __future__ import annotations

from datetime import datetime

from shared.events import DomainEvent, EventRegistry

registry = EventRegistry("dispatch")


@registry.register
class JobOpened(DomainEvent):
    request_id: str
    priority: str
    kind: str
    category: str | None = None
    required_skills: list[str]
    respond_by: datetime
    resolve_by: datetime
    opened_at: datetime
