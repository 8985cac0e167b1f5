"""Feedback's time rules, on the injectable clock: close resolved requests the customer never
answered; escalate complaints nobody handled by their deadline."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from services.feedback.domain import commands as cmd
from services.feedback.service_layer.feedback import Feedback
from shared.aggregate import IdSource
from shared.db import Conn
from shared.follower import Follower

Due = Callable[[Conn, Any, int], Awaitable[list[str]]]


class Closer(Follower):
    def __init__(self, f: Feedback, poll_seconds: float) -> None:
        super().__init__(batch_size=200, poll_seconds=poll_seconds, linger_seconds=0)
        self.f = f

    async def run_once(self) -> int:
        return (await self._each(self.f.tables.due_closures, cmd.CloseUnanswered)
                + await self._each(self.f.tables.late_complaints, cmd.EscalateLateComplaint))

    async def _each(self, due: Due, command: Callable[[str], object]) -> int:
        """One transaction per rule. Its due rows are locked SKIP LOCKED, so another replica passes
        them over and each fires once; each is then a command in a unit joined to the transaction.
        Fresh ids are safe: a row, once handled, is no longer due."""
        now = self.f.clock.now()
        async with self.f.db.begin() as conn:
            ids = await due(conn, now, self.batch_size)
            for aggregate_id in ids:
                await self.f.bus.handle_in(self.f.unit_on(conn, IdSource()), command(aggregate_id))
        return len(ids)
