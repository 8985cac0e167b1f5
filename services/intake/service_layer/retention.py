"""Retention, on the injectable clock: a customer's service records are kept `RETENTION_DAYS` (730 by
default) after their last request last changed; then, if none of their requests is open, they are
erased as an admin would erase them (`EraseCustomer`, by `retention`): their personal data becomes
unreadable everywhere, every event and report stays."""
from __future__ import annotations

from datetime import timedelta

from services.intake.domain import commands as cmd
from services.intake.service_layer.handlers import Intake
from shared.follower import Follower

BY = "retention"


class Retention(Follower):
    def __init__(self, intake: Intake, keep: timedelta, poll_seconds: float) -> None:
        super().__init__(batch_size=100, poll_seconds=poll_seconds, linger_seconds=0)
        self.intake, self.keep = intake, keep

    async def run_once(self) -> int:
        """Erases up to a batch of customers past retention; the read model notes each erasure
        (through the projection), so the next round passes over them."""
        async with self.intake.db.connect() as conn:
            due = await self.intake.queries.past_retention(conn, self.intake.clock.now() - self.keep, self.batch_size)
        for customer_id in due:
            # One command each, erasing twice is a no-op: another replica racing this one, or a
            # round that runs again before the projection caught up, changes nothing.
            await self.intake.bus.handle(cmd.EraseCustomer(customer_id, BY))
        return len(due)
