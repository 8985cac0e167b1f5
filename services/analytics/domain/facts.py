"""The fact of one request: when each stage happened, who held it, and how it ended. Pure.

Every service's events about a request fold into one `RequestFact`. Events from different services
may arrive in any order, so each field is owned by one service's stream (which arrives in order)
or folds order-free (first times with `min`, counts by adding): a rebuild that meets the same
events in another interleaving builds the same fact. Each event is folded exactly once (the
archive holds it once; the checkpoint commits with the facts), so counting by adding is safe.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from services.analytics.domain.folds import FOLDS
from shared.events import DomainEvent


@dataclass
class RequestFact:
    request_id: str
    channel: str | None = None
    kind: str | None = None
    category: str | None = None
    priority: str | None = None
    emergency: bool = False
    owner: str | None = None
    received_at: datetime | None = None
    triaged_at: datetime | None = None
    respond_by: datetime | None = None
    resolve_by: datetime | None = None
    acknowledged_at: datetime | None = None
    ack_in_time: bool | None = None
    first_allocated_at: datetime | None = None
    resource_id: str | None = None
    path: list[str] = field(default_factory=list)  # every resource it was allocated to, in order
    declines: int = 0
    started_at: datetime | None = None
    working_since: datetime | None = None
    paused_since: datetime | None = None
    work_s: float = 0.0
    paused_s: float = 0.0
    pauses: int = 0
    first_resolved_at: datetime | None = None
    resolved_at: datetime | None = None
    resolver_id: str | None = None
    resolution_code: str | None = None
    confirmed_at: datetime | None = None
    rejections: int = 0
    closed_at: datetime | None = None
    closed_how: str | None = None
    withdrawn_at: datetime | None = None
    merged_at: datetime | None = None
    merged_into: str | None = None
    reopens: int = 0
    # Dispatch's SlaWarning / SlaBreached per clock. Its "response" clock is an alert only: the SLA
    # report judges first response by intake's acknowledgement (ack_in_time, respond_by).
    response_warned: bool = False
    resolution_warned: bool = False
    response_breached: bool = False
    resolution_breached: bool = False
    escalations: int = 0
    escalation_level: int = 0  # 0 none, 1 team lead, 2 manager
    survey_returned_at: datetime | None = None
    csat: int | None = None
    nps: int | None = None
    dimensions: dict[str, int] = field(default_factory=dict)
    complaints: int = 0
    follow_ups: int = 0
    follow_ups_done: int = 0

    def apply(self, event: DomainEvent, at: datetime) -> None:
        """Fold one event (by its contract); events that say nothing about these facts are ignored."""
        fold = FOLDS.get(type(event))
        if fold is not None:
            fold(self, event, at)

    def _stop_work(self, at: datetime) -> None:
        if self.working_since is not None:
            self.work_s += max((at - self.working_since).total_seconds(), 0.0)
            self.working_since = None
        if self.paused_since is not None:
            self.paused_s += max((at - self.paused_since).total_seconds(), 0.0)
            self.paused_since = None


FIELDS = tuple(f.name for f in fields(RequestFact))
