"""Issue 12: consumers read other services' events through the published contracts.

Each record is decoded by its full ce_type before anything is applied: the handler gets the typed
event; a type (or version) the contracts do not know is skipped and counted, never applied; a
payload that does not fit its type goes to the dead-letter topic at once, naming the field.
"""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from shared.consumer import dead_letter_topic
from shared.contracts import Reactions, decoded, intake
from shared.db import Conn, Database, fetch
from shared.envelope import Envelope
from shared.events import DomainEvent
from shared.metrics import CONSUMER_UNKNOWN
from tests.support.kafka import create_topics, header, produce, read_topic, unique_topic
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
T0 = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)


def triaged(request_id: str) -> intake.RequestTriaged:
    return intake.RequestTriaged(
        request_id=request_id, priority="P2", urgency="high", impact="medium", kind="fault", channel="phone",
        category="fault > equipment > printer", emergency=False, received_at=T0, respond_by=T0 + timedelta(hours=1),
        resolve_by=T0 + timedelta(hours=8),
        sla=intake.SlaTargets(policy="P2", respond="1h", resolve="8h", calendar={"always_open": True}),
        triaged_by="agent-1", needs_review=False, triaged_at=T0)


def enveloped(event: DomainEvent, version: int = 2, ce_type: str | None = None, data: dict | None = None) -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()), source="/servicetrail/intake", type=ce_type or intake.registry.type_of(event),
        subject=event.subject, time=T0, stream_id=f"request-{event.subject}", stream_version=version,
        correlation_id=str(uuid.uuid4()), causation_id=None,
        data=data if data is not None else event.model_dump(mode="json"))


async def seen(db: Database, schema: str) -> list[tuple[str, str]]:
    async with db.connect() as conn:
        return [tuple(r) for r in await fetch(conn, f"SELECT request_id, priority FROM {schema}.seen ORDER BY 1")]


async def prepared(db: Database, schema: str, broker) -> tuple[str, str]:  # noqa: ANN001
    """A topic and a group (its dead-letter topic made); the table `recording` fills."""
    topic, group = unique_topic(), f"g-{schema}"
    await create_topics(broker.bootstrap, topic, dead_letter_topic(group))
    async with db.begin() as conn:
        await fetch(conn, f"CREATE TABLE {schema}.seen (request_id text PRIMARY KEY, priority text)")
    return topic, group


def recording(schema: str) -> Reactions:
    async def on_triaged(conn: Conn, event: intake.RequestTriaged, env: Envelope) -> None:
        assert isinstance(event.received_at, datetime)  # typed, not a string out of a dict
        await fetch(conn, f"INSERT INTO {schema}.seen VALUES ($1, $2)", event.request_id, event.priority)
    return Reactions({intake.RequestTriaged: on_triaged})


async def test_a_typed_consumer_applies_contracts_skips_unknown_types_and_dead_letters_misfits(
        db, schema, broker, runner_for):
    topic, group = await prepared(db, schema, broker)
    good = enveloped(triaged("r-good"))
    misfit_data = {k: v for k, v in good.data.items() if k != "priority"}
    misfit = enveloped(triaged("r-misfit"), data=misfit_data)
    unknown = enveloped(triaged("r-unknown"), ce_type="servicetrail.intake.RequestTeleported.v1")
    future = enveloped(triaged("r-future"), ce_type="servicetrail.intake.RequestTriaged.v9")
    unknown_before = CONSUMER_UNKNOWN.labels(group, topic)._value.get()
    await produce(broker.bootstrap, topic, [misfit, unknown, future, good])

    await runner_for(topic, group, recording(schema), decode=decoded)
    await until(lambda: _rows(db, schema, 1))
    dead = await read_topic(broker.bootstrap, dead_letter_topic(group), at_least=1)

    assert await seen(db, schema) == [("r-good", "P2")]
    assert [header(r, "ce_id") for r in dead] == [misfit.id]
    assert header(dead[0], "dlq_attempts") == "1"  # never retried: it can never fit
    assert "priority" in header(dead[0], "dlq_error")
    await until(lambda: _unknown_counted(group, topic, unknown_before + 2))
    # Not recorded as applied: once a later version of this code knows them, a redrive applies them.
    async with db.connect() as conn:
        applied = {r[0] for r in await fetch(conn, f"SELECT event_id::text FROM {schema}.applied_events")}
    assert unknown.id not in applied and future.id not in applied


async def _unknown_counted(group: str, topic: str, n: float) -> bool:
    return CONSUMER_UNKNOWN.labels(group, topic)._value.get() >= n


async def _rows(db: Database, schema: str, n: int) -> bool:
    return len(await seen(db, schema)) >= n


async def test_an_applied_event_redelivered_in_a_form_its_contract_now_refuses_is_passed_over(
        db, schema, broker, runner_for):
    # A republish after an upgrade delivers events applied long ago, some written when a contract
    # was looser. A small fetch (the tail of a partition) decodes each record before its claim would
    # find it applied: such a record was dead-lettered, though it had taken effect long before.
    topic, group = await prepared(db, schema, broker)
    first = enveloped(triaged("r-first"))
    await produce(broker.bootstrap, topic, [first])
    await runner_for(topic, group, recording(schema), decode=decoded)
    await until(lambda: _rows(db, schema, 1))

    # The same event (id, stream, version) again, its body missing a field the contract requires.
    again = replace(first, data={k: v for k, v in first.data.items() if k != "priority"})
    after = enveloped(triaged("r-after"))
    await produce(broker.bootstrap, topic, [again, after])
    await until(lambda: _rows(db, schema, 2))

    assert await seen(db, schema) == [("r-after", "P2"), ("r-first", "P2")]
    assert await read_topic(broker.bootstrap, dead_letter_topic(group), at_least=1, timeout=3) == []
