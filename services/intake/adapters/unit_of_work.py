"""Intake's units of work on PostgreSQL: requests in their streams (the read model follows them
through the projection, so a request has no working row beside its stream).

`PostgresIntakeUnitOfWork`, one transaction per command, for every command but submit.
`SubmitUnitOfWork`, submit's: the new request's events go through the group-commit appender
(shared/group_commit_unit_of_work.py), because a transaction per submit costs the hot path more
than 5 % of its throughput."""
from __future__ import annotations

from services.intake.domain.erasure import Erasure
from services.intake.domain.model import ServiceRequest
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.aggregate import IdSource
from shared.db import Conn, Database
from shared.group_commit_unit_of_work import Append, GroupCommitUnitOfWork
from shared.postgres_unit_of_work import PostgresUnitOfWork, StreamRepository
from shared.repository import EventSourcedRepository
from shared.shredding.keyring import KeyRing


class PostgresIntakeUnitOfWork(PostgresUnitOfWork, IntakeUnitOfWork):
    def __init__(self, requests: EventSourcedRepository[ServiceRequest], erasures: EventSourcedRepository[Erasure],
                 schema: str, db: Database | None, ids: IdSource, conn: Conn | None = None,
                 keys: KeyRing | None = None) -> None:
        super().__init__(db, schema, ids, conn, keys)
        self.streams, self.erasure_streams = requests, erasures

    def _open(self, conn: Conn) -> None:
        self.requests = StreamRepository(self.streams, conn, self.ids)
        self.erasures = StreamRepository(self.erasure_streams, conn, self.ids)


class SubmitUnitOfWork(GroupCommitUnitOfWork, IntakeUnitOfWork):
    def __init__(self, requests: EventSourcedRepository[ServiceRequest], schema: str, db: Database,
                 append: Append, ids: IdSource, keys: KeyRing | None = None) -> None:
        super().__init__(db, schema, append, ids, keys)
        self.streams = requests

    def _open(self) -> None:
        self.requests = self.repository(self.streams)
