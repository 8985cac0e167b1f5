"""Feedback's unit of work on PostgreSQL: closures, items and actions in their streams, each with
its working row (the queues) in the same transaction."""
from __future__ import annotations

from dataclasses import dataclass

from services.feedback.adapters.tables import FeedbackTables
from services.feedback.domain.actions import ImprovementAction
from services.feedback.domain.closure import Closure
from services.feedback.domain.items import FeedbackItem
from services.feedback.domain.policy import RequestFacts
from services.feedback.service_layer.unit_of_work import FeedbackUnitOfWork
from shared.aggregate import IdSource
from shared.clock import Clock
from shared.db import Conn, Database
from shared.postgres_unit_of_work import PostgresUnitOfWork, StreamRepository
from shared.repository import EventSourcedRepository
from shared.shredding.keyring import KeyRing


@dataclass(frozen=True)
class FeedbackStreams:
    closures: EventSourcedRepository[Closure]
    items: EventSourcedRepository[FeedbackItem]
    actions: EventSourcedRepository[ImprovementAction]


class PostgresFeedbackUnitOfWork(PostgresUnitOfWork, FeedbackUnitOfWork):
    def __init__(self, streams: FeedbackStreams, tables: FeedbackTables, clock: Clock, schema: str,
                 db: Database | None, ids: IdSource, conn: Conn | None = None, keys: KeyRing | None = None) -> None:
        super().__init__(db, schema, ids, conn, keys)
        self.streams, self.tables, self.clock = streams, tables, clock

    def _open(self, conn: Conn) -> None:
        self.closures = StreamRepository(self.streams.closures, conn, self.ids, self.tables.save_closure)
        self.items = StreamRepository(self.streams.items, conn, self.ids, self.tables.save_item)
        self.actions = StreamRepository(self.streams.actions, conn, self.ids, self.tables.save_action)

    async def request_facts(self, request_id: str) -> RequestFacts:
        return RequestFacts(**await self.tables.request_facts(self.conn, request_id))
