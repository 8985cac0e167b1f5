"""Feedback's configured times and rules, and what it knows of a request. Pure."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from services.feedback.domain.closure import FollowUpRule
from services.feedback.domain.items import DEFAULT_DEADLINES


@dataclass(frozen=True)
class RequestFacts:
    """What feedback knows of a request from intake's facts: whose it is, its priority and kind,
    and whether dispatch works it (None: no triage heard of yet)."""

    customer_id: str | None = None
    priority: str | None = None
    kind: str | None = None
    dispatched: bool | None = None


@dataclass(frozen=True)
class Policy:
    confirmation_wait: timedelta = timedelta(hours=72)  # silence closes a resolved request after this
    survey_ttl: timedelta = timedelta(days=14)
    follow_up_in: timedelta = timedelta(hours=24)  # a call-back after a low survey score
    deadlines: dict[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_DEADLINES))
    follow_ups: FollowUpRule = FollowUpRule()

    def follow_up(self, facts: RequestFacts) -> tuple[str, timedelta] | None:
        """The call-back closing this request calls for (its reason and how soon), if any."""
        reason = self.follow_ups.reason(facts.priority, facts.kind)
        return (reason, self.follow_ups.within) if reason else None
