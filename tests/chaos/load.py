"""The chaos suite's load: `servicetrail demo`'s simulated desk (shared/demo) playing a short week
through the public APIs while the faults strike.

Requests arrive on the week's daily pattern; agents acknowledge, technicians decline, pause and
resolve on their shifts, dispatchers escalate, customers confirm, reject and return surveys,
complaints and praise are handled: every service records, and consumes, what a real desk makes it.
Every command carries an Idempotency-Key and is retried with it while the answer says "try again"
(503, 429, a refused connection), so what the desk was told was recorded (`submitted`) can be
checked against what every service holds afterwards.
"""
from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import httpx

from shared.auth import Role
from shared.clock import ScaledClock
from shared.demo.desk import Desk, WeekOver
from shared.demo.week import DAY_SHAPE, plan, roster

DAYS = 2  # a Monday and a Tuesday: the busiest days of the week
WARM_UP_SECONDS = 15.0  # real seconds of simulated Sunday night, for the stack to start and staff
GRACE_SECONDS = 90.0  # real seconds for the stories' last calls once the week is over


def week_clock(seconds: float) -> ScaledClock:
    """The clock a scenario's services and desk share: `DAYS` simulated days (last week's) in
    `seconds` real ones, beginning once the stack has had `WARM_UP_SECONDS` to start."""
    today = datetime.now(timezone.utc).date()
    monday = datetime.combine(today - timedelta(days=today.weekday() + 7), datetime.min.time(), timezone.utc)
    speed = DAYS * 86_400 / seconds
    return ScaledClock(monday - timedelta(seconds=speed * WARM_UP_SECONDS), speed, time.time(),
                       monday + timedelta(days=DAYS))


def clock_env(clock: ScaledClock) -> dict[str, str]:
    """The CLOCK_* settings that give every service process `clock` (a restarted one too)."""
    assert clock.end is not None
    return {"CLOCK_START": clock.start.isoformat(), "CLOCK_RATE": repr(clock.rate),
            "CLOCK_ANCHOR": repr(clock.anchor), "CLOCK_END": clock.end.isoformat()}


@dataclass
class Load:
    urls: dict[str, str]
    clock: ScaledClock
    requests: int
    seed: int = field(default_factory=lambda: random.randrange(1 << 30))
    failed: list[str] = field(default_factory=list)  # stories that ended in an error

    def __post_init__(self) -> None:
        assert self.clock.end is not None
        self.monday = self.clock.end - timedelta(days=DAYS)
        self.technicians = roster("UTC")
        self.http = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=64))
        self.desk = Desk(self.urls, self.clock, self.technicians, self.http)

    @property
    def submitted(self) -> list[str]:
        """Ids of the requests a 201 acknowledged."""
        return self.desk.tally.submitted

    @property
    def refused(self) -> list[str]:
        """Answers no step of a story should get, and stories that failed."""
        return self.desk.tally.unexpected + self.failed

    async def run(self) -> None:
        """Plays the week: about `requests` arrivals, every story to its end or the week's."""
        rng = random.Random(self.seed)
        arrivals = plan(self.monday, DAYS, self.requests / sum(DAY_SHAPE[:DAYS]), rng)
        await self.desk.staff(self.technicians)
        stories = [asyncio.create_task(self.desk.play(a)) for a in arrivals]
        await asyncio.wait(stories, timeout=self.clock.real_seconds(self.clock.end - self.clock.now()) + GRACE_SECONDS)
        for story in stories:
            story.cancel()
        for outcome in await asyncio.gather(*stories, return_exceptions=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, (WeekOver, asyncio.CancelledError)):
                self.failed.append(repr(outcome)[:200])

    async def begun(self) -> None:
        """Returns once the simulated days have begun (at once if the stack took longer to start)."""
        await asyncio.sleep(max(self.clock.real_seconds(self.monday - self.clock.now()), 0.0))

    async def submit(self) -> str | None:
        """One more request, outside the plan (what the recovery probe sends); its id once acknowledged."""
        body = {"customer": {"id": "chaos-probe", "name": "Probe Customer"}, "channel": "phone", "kind": "fault",
                "title": "Is everything back?", "description": "sent by the chaos suite after its faults",
                "urgency": "medium", "impact": "low"}
        created = await self.desk.expect({201}, Role.agent, "agent-1", "intake", "/v1/requests", body)
        if created is None:
            return None
        self.desk.tally.submitted.append(created["id"])
        return created["id"]

    async def close(self) -> None:
        await self.http.aclose()
