"""A relay that cannot make progress says so: /readyz degraded with the reason, a metric, a warning.

Intake's real app runs its relay in-process on a clock the test moves; an event larger than the
producer may send is appended through a store without the size limit (as one recorded before
there was a limit), so every relay round fails on it (the
MessageSizeTooLargeError of the incident).
"""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

import shared.follower
from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.clock import FrozenClock
from shared.db import fetch
from shared.eventstore import EventStore
from tests.support.app import serving
from tests.support.events import new_event
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

STALL_SECONDS = 5.0


class Recorder:
    """Stands in for a module's structlog logger, keeping what was logged."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict]] = []

    def __getattr__(self, level: str):  # noqa: ANN204
        return lambda event, **fields: self.lines.append((level, event, fields))


def stalled_gauge(text: str, schema: str, follower: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "servicetrail_follower_stalled" and sample.labels == {
                    "schema": schema, "follower": follower}:
                return sample.value
    return None


async def test_a_relay_stuck_on_an_oversized_event_makes_readiness_degraded_until_it_moves_on(
        settings_for, monkeypatch):
    logs = Recorder()
    monkeypatch.setattr(shared.follower, "log", logs)
    clock = FrozenClock()
    settings = settings_for("intake", IntakeSettings, follower_stall_seconds=STALL_SECONDS)
    schema = settings.schema_name
    app = bootstrap(settings, clock=clock)
    runtime = app.state.runtime
    async with serving(app) as client:
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready",
                                                           "checks": {"database": True, "broker": True}})
        assert stalled_gauge((await client.get("/metrics")).text, schema, "relay") == 0

        # Straight into the store, past the service's own size limit (as an event recorded before
        # there was one): over the producer's 1 MiB, so the broker never gets it.
        oversized = new_event("too-big", "OversizedNote", blob="x" * 1_500_000)
        unlimited = EventStore(runtime.store.schema, "intake", max_event_bytes=2_000_000)
        async with runtime.db.begin() as conn:
            await unlimited.append(conn, "note-too-big", [oversized], 0)
        runtime.wake_followers()

        async def failing() -> bool:
            return runtime.relay.failures >= 2

        await until(failing, timeout=30)
        assert (await client.get("/readyz")).status_code == 200  # failing, but not for long yet (by the clock)

        clock.advance(seconds=STALL_SECONDS + 1)
        answer = await client.get("/readyz")
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "degraded"
        assert body["checks"] == {"database": True, "broker": True, "relay": False}
        assert "MessageSizeTooLargeError" in body["reasons"]["relay"]

        async def reported() -> bool:
            return stalled_gauge((await client.get("/metrics")).text, schema, "relay") == 1

        await until(reported, timeout=10)  # at the relay's next failed round
        warnings = [f for level, event, f in logs.lines if level == "warning" and event.startswith("follower stalled")]
        assert warnings and warnings[0]["follower"] == "relay"
        assert "MessageSizeTooLargeError" in warnings[0]["error"]

        # An operator moves the relay past the event; the next round succeeds and readiness returns.
        async with runtime.db.connect() as conn:
            rows = await fetch(conn, f"SELECT p.position FROM {schema}.event_positions p JOIN {schema}.events e "
                                     f"ON e.id = p.id WHERE e.event_id = $1", oversized.id)
        await runtime.relay.republish_from(rows[0][0])
        await runtime.append("note-small", [new_event("small", "SmallNote")], 0)

        async def recovered() -> bool:
            return (await client.get("/readyz")).status_code == 200 and runtime.relay.failures == 0

        await until(recovered, timeout=10)
        assert stalled_gauge((await client.get("/metrics")).text, schema, "relay") == 0
        assert (await client.get("/readyz")).json() == {"status": "ready", "checks": {"database": True, "broker": True}}
        assert any(event == "follower recovered" for _, event, _ in logs.lines)
