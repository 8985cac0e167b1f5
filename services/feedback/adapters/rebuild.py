"""Feedback's working tables (closures, feedback items, improvement actions) written anew from its
streams: `servicetrail projections rebuild feedback tables` (shared/ops/rebuild_streams.py).

Its `requests` table is not among them: it holds what feedback learnt of other services' requests
(whose, which priority) from their topics, not from its own events."""
from __future__ import annotations

from services.feedback.adapters.tables import FeedbackTables
from services.feedback.adapters.unit_of_work import FeedbackStreams
from shared.db import Conn
from shared.ops.rebuild_streams import by_kind


class FeedbackTablesRebuild:
    name = "tables"
    tables = ("closures", "feedback_items", "actions")
    prefixes = ("closure-", "feedback-", "action-")

    def __init__(self, streams: FeedbackStreams, schema: str) -> None:
        self.streams, self.schema, self.rows = streams, schema, FeedbackTables(schema)

    def on_schema(self, schema: str) -> FeedbackTablesRebuild:
        return FeedbackTablesRebuild(self.streams, schema)

    async def rewrite(self, conn: Conn, stream_ids: list[str]) -> None:
        kinds, s = by_kind(stream_ids), self.streams
        closures = await s.closures.get_many(conn, kinds.get("closure", []))
        await self.rows.save_closures(conn, list(closures.values()))
        items = await s.items.get_many(conn, kinds.get("feedback", []))
        await self.rows.save_items(conn, list(items.values()))
        actions = await s.actions.get_many(conn, kinds.get("action", []))
        await self.rows.save_actions(conn, list(actions.values()))

    async def finish(self, conn: Conn) -> None:
        """Nothing here depends on more than its own aggregate."""
