"""Feedback's time rules, on the injectable clock: close resolved requests the customer never
answered; escalate complaints nobody handled by their deadline."""
from __future__ import annotations

from services.feedback.service_layer.handlers import Feedback, close_due
from services.feedback.service_layer.handling import escalate_late_complaints
from shared.follower import Follower


class Closer(Follower):
    def __init__(self, f: Feedback, poll_seconds: float) -> None:
        super().__init__(batch_size=200, poll_seconds=poll_seconds, linger_seconds=0)
        self.f = f

    async def run_once(self) -> int:
        return await close_due(self.f, self.batch_size) + await escalate_late_complaints(self.f, self.batch_size)
