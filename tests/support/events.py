"""Helpers to make envelopes for tests."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from shared.envelope import Envelope


def new_event(subject: str = "r-1", name: str = "RequestUpdated", **data: object) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        source="/servicetrail/intake",
        type=f"servicetrail.intake.{name}.v1",
        subject=subject,
        time=datetime.now(timezone.utc),
        stream_id="",
        stream_version=0,
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        data=dict(data),
    )


def new_events(n: int, subject: str = "r-1") -> list[Envelope]:
    return [new_event(subject, n=i) for i in range(n)]
