"""Feedback's unit of work (the port its handlers see): closures, items and improvement actions,
and what it knows of each request."""
from __future__ import annotations

import abc

from services.feedback.domain.actions import ImprovementAction
from services.feedback.domain.closure import Closure
from services.feedback.domain.items import FeedbackItem
from services.feedback.domain.policy import RequestFacts
from shared.unit_of_work import Repository, UnitOfWork


class FeedbackUnitOfWork(UnitOfWork):
    """What a feedback handler may touch: three repositories and the requests' facts. PostgreSQL's
    is `adapters.unit_of_work`; the handler tests use an in-memory one."""

    closures: Repository[Closure]  # by request id
    items: Repository[FeedbackItem]  # by feedback id
    actions: Repository[ImprovementAction]  # by action id

    @abc.abstractmethod
    async def request_facts(self, request_id: str) -> RequestFacts:
        """What intake's facts said of the request (all None for a request feedback never heard of)."""
