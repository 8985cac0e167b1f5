"""Intake's unit of work (the port its handlers see): the requests."""
from __future__ import annotations

from services.intake.domain.erasure import Erasure
from services.intake.domain.model import ServiceRequest
from shared.unit_of_work import Repository, UnitOfWork


class IntakeUnitOfWork(UnitOfWork):
    """What an intake handler may touch: the requests, by id, and customers' erasures. PostgreSQL's
    is `adapters.unit_of_work`; the handler tests use an in-memory one."""

    requests: Repository[ServiceRequest]
    erasures: Repository[Erasure]
