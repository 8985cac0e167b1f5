"""Feedback's working tables (closures, feedback items, improvement actions) written anew from its
streams: `servicetrail projections rebuild feedback tables` (shared/ops/rebuild_streams.py).

Its `requests` table is not among them: it holds what feedback learnt of other services' requests
(whose, which priority) from their topics, not from its own events."""
from __future__ import annotations

from services.feedback.adapters.tables import FeedbackTables
from services.feedback.adapters.unit_of_work import FeedbackStreams
from shared.db import Conn


class FeedbackTablesRebuild:
    name = "tables"
    tables = ("closures", "feedback_items", "actions")
    prefixes = ("closure-", "feedback-", "action-")

    def __init__(self, streams: FeedbackStreams, schema: str) -> None:
        self.streams, self.schema, self.rows = streams, schema, FeedbackTables(schema)

    def on_schema(self, schema: str) -> FeedbackTablesRebuild:
        return FeedbackTablesRebuild(self.streams, schema)

    async def rewrite(self, conn: Conn, stream_ids: list[str]) -> None:
        for stream_id in stream_ids:
            kind, _, aggregate_id = stream_id.partition("-")
            if kind == "closure" and (closure := await self.streams.closures.get(conn, aggregate_id)):
                await self.rows.save_closure(conn, closure)
            elif kind == "feedback" and (item := await self.streams.items.get(conn, aggregate_id)):
                await self.rows.save_item(conn, item)
            elif kind == "action" and (action := await self.streams.actions.get(conn, aggregate_id)):
                await self.rows.save_action(conn, action)

    async def finish(self, conn: Conn) -> None:
        """Nothing here depends on more than its own aggregate."""
