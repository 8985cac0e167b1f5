"""Intake's unit of work on PostgreSQL: requests in their streams, one transaction per command
(the read model follows them through the projection, so a request has no working row beside its
stream). Submit, the hot path, does not use it (service_layer/handlers.py says why)."""
from __future__ import annotations

from services.intake.domain.model import ServiceRequest
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.aggregate import IdSource
from shared.db import Conn, Database
from shared.postgres_unit_of_work import PostgresUnitOfWork, StreamRepository
from shared.repository import EventSourcedRepository


class PostgresIntakeUnitOfWork(PostgresUnitOfWork, IntakeUnitOfWork):
    def __init__(self, requests: EventSourcedRepository[ServiceRequest], schema: str, db: Database | None,
                 ids: IdSource, conn: Conn | None = None) -> None:
        super().__init__(db, schema, ids, conn)
        self.streams = requests

    def _open(self, conn: Conn) -> None:
        self.requests = StreamRepository(self.streams, conn, self.ids)

