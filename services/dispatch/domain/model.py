"""The job aggregate: the work a request needs, from opening to resolution."""
from __future__ import annotations

from datetime import datetime

from services.dispatch.domain import events as ev
from services.dispatch.domain.inbound import TriagedRequest
from shared.aggregate import Aggregate

DEFAULT_SKILLS = {"fault": ["repair"], "complaint": ["customer-care"], "consultation": ["advice"]}


def required_skills(kind: str, category: str | None) -> list[str]:
    """The category's area ("fault > equipment > printer" -> equipment), else from the kind."""
    if category:
        parts = [p.strip().lower() for p in category.split(">")]
        return [parts[1] if len(parts) > 1 else parts[0]]
    return DEFAULT_SKILLS.get(kind, ["general"])


class Job(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.request_id = ""
        self.status = "new"
        self.opened: ev.JobOpened | None = None

    @classmethod
    def open(cls, request: TriagedRequest, now: datetime) -> "Job":
        job = cls()
        job.record(
            ev.JobOpened(
                request_id=request.request_id,
                priority=request.priority,
                kind=request.kind,
                category=request.category,
                required_skills=required_skills(request.kind, request.category),
                respond_by=request.respond_by,
                resolve_by=request.resolve_by,
                opened_at=now,
            )
        )
        return job

    def when_JobOpened(self, event: ev.JobOpened) -> None:
        self.request_id, self.opened, self.status = event.request_id, event, "open"
