"""A feedback item: a complaint, a suggestion or praise, with its own deadline for an answer."""
from __future__ import annotations

from datetime import datetime, timedelta

from services.feedback.domain import events as ev
from shared.aggregate import Aggregate

KINDS = ("complaint", "suggestion", "praise")
DEFAULT_DEADLINES = {"complaint": timedelta(hours=24), "suggestion": timedelta(days=5), "praise": timedelta(days=7)}


class FeedbackItem(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.id, self.kind, self.status = "", "", "open"
        self.respond_by: datetime | None = None

    def when_FeedbackReceived(self, e: ev.FeedbackReceived) -> None:
        self.id, self.kind, self.respond_by = e.feedback_id, e.kind, e.respond_by
