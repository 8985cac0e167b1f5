"""Dispatch's unit of work (the port its handlers see): jobs and resources, and the capacity and
candidate queries allocation needs. PostgreSQL's is `adapters.unit_of_work`; the handler tests use
an in-memory one (tests/unit/test_dispatch_handlers.py)."""
from __future__ import annotations

import abc
from datetime import datetime
from typing import Any, Protocol, Sequence

from services.dispatch.domain.model import Job
from services.dispatch.domain.resources import Resource
from shared.unit_of_work import Repository, UnitOfWork


class Capacity(Protocol):
    """Who may take a job, and a slot taken: what allocation asks of the store."""

    async def shortlist(self, skills: Sequence[str], excluded: Sequence[str], zone: str | None,
                        weights: tuple[float, float, float], now: datetime, limit: int, offset: int
                        ) -> list[dict[str, Any]]:
        """Resources that may take the job, best first (rows as `DispatchTables.resource_rows`)."""

    async def reserve(self, resource_id: str) -> bool:
        """Take one slot of the resource if it has one."""


class DispatchUnitOfWork(UnitOfWork):
    """What a dispatch handler may touch. At commit a job's slot moves with it: the slot of the
    resource that held it at load is freed, its new holder's taken (unless `reserve` took it)."""

    jobs: Repository[Job]  # by request id
    resources: Repository[Resource]  # by resource id

    @abc.abstractmethod
    async def shortlist(self, skills: Sequence[str], excluded: Sequence[str], zone: str | None,
                        weights: tuple[float, float, float], now: datetime, limit: int, offset: int
                        ) -> list[dict[str, Any]]:
        """Resources that may take a job, best first."""

    @abc.abstractmethod
    async def reserve(self, resource_id: str) -> bool:
        """Take one slot of the resource if it has one (recorded: the job's save does not take it again)."""

    @abc.abstractmethod
    async def resource_row(self, resource_id: str) -> dict[str, Any] | None:
        """The resource as allocation sees it (a `shortlist` row), if it is registered."""

    @abc.abstractmethod
    async def load_of(self, resource_id: str) -> int:
        """How many slots of the resource are taken."""
