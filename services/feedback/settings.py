"""Feedback's configuration."""
from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from services.feedback.domain.items import DEFAULT_DEADLINES
from shared.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    service: str = "feedback"
    # Silence closes a resolved request after this long.
    confirmation_wait_hours: float = Field(default=72, gt=0)
    survey_ttl_days: float = Field(default=14, gt=0)
    follow_up_hours: float = Field(default=24, gt=0)
    complaint_deadline_hours: float = Field(default=24, gt=0)
    suggestion_deadline_hours: float = Field(default=DEFAULT_DEADLINES["suggestion"].total_seconds() / 3600, gt=0)
    praise_deadline_hours: float = Field(default=DEFAULT_DEADLINES["praise"].total_seconds() / 3600, gt=0)
    follow_up_priorities: list[str] = ["P1"]
    follow_up_kinds: list[str] = ["complaint"]
    close_poll_seconds: float = Field(default=5, gt=0)
    public_url: str = "http://127.0.0.1:8003"

    def deadlines(self) -> dict[str, timedelta]:
        return {"complaint": timedelta(hours=self.complaint_deadline_hours),
                "suggestion": timedelta(hours=self.suggestion_deadline_hours),
                "praise": timedelta(hours=self.praise_deadline_hours)}
