"""What dispatch reads from other services' events: its own view, not their classes."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class TriagedRequest(BaseModel):
    """The fields of intake's RequestTriaged.v1 that dispatch relies on."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    request_id: str
    priority: str
    kind: str
    category: str | None = None
    respond_by: datetime
    resolve_by: datetime
