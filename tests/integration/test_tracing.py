"""One trace follows a request: intake's HTTP command, its events in the store, the relay, Kafka
(`ce_traceparent`), dispatch, feedback and analytics acting on it, and the events they record on.

The four services run in this process (each with its own schema and groups, on topics of their
own), traced through one SDK provider into the SDK's in-memory exporter."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.analytics.bootstrap import bootstrap as analytics_app
from services.analytics.settings import AnalyticsSettings
from services.dispatch.bootstrap import bootstrap as dispatch_app
from services.dispatch.settings import DispatchSettings
from services.feedback.bootstrap import bootstrap as feedback_app
from services.feedback.settings import FeedbackSettings
from services.intake.bootstrap import bootstrap as intake_app
from services.intake.settings import IntakeSettings
from shared import tracing
from shared.auth import Role
from shared.clock import FrozenClock
from tests.api.dispatch_support import MONDAY_10
from tests.support.app import as_role, serving
from tests.support.kafka import header, read_topic
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

TRACE_ID = uuid.uuid4().hex
CALLER = f"00-{TRACE_ID}-{uuid.uuid4().hex[:16]}-01"  # the client's own trace, which the command continues


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.uninstall()


def in_trace(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == TRACE_ID]


def one(spans: list[ReadableSpan], service: str, name: str) -> ReadableSpan:
    found = [s for s in spans if s.attributes[tracing.SERVICE] == service and s.name == name]
    assert found, (service, name, sorted({(s.attributes[tracing.SERVICE], s.name) for s in spans}))
    return found[0]


async def test_one_trace_follows_a_request_from_intake_through_dispatch_and_feedback_into_analytics(
        settings_for, broker, exported):
    prefix, clock = f"trace-{uuid.uuid4().hex[:8]}-", FrozenClock(MONDAY_10)
    apps = [make(settings_for(name, cls, topic_prefix=prefix), clock=clock) for name, cls, make in (
        ("intake", IntakeSettings, intake_app), ("dispatch", DispatchSettings, dispatch_app),
        ("feedback", FeedbackSettings, feedback_app), ("analytics", AnalyticsSettings, analytics_app))]
    async with serving(apps[0]) as intake, serving(apps[1]), serving(apps[2]), serving(apps[3]) as analytics:
        request = {"customer": {"id": "c-trace", "name": "Ada Lovelace"}, "channel": "phone", "kind": "fault",
                   "category": "fault > equipment > printer", "title": "Printer jams", "description": "Every page",
                   "urgency": "high", "impact": "medium"}
        created = await intake.post("/v1/requests", json=request,
                                    headers={**as_role(Role.agent, "agent-t"), "traceparent": CALLER})
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]

        async def acted_on_everywhere() -> bool:
            names = {(s.attributes[tracing.SERVICE], s.name) for s in in_trace(exported)}
            return {("dispatch", "apply RequestTriaged"), ("feedback", "apply RequestReceived"),
                    ("analytics", "apply JobOpened")} <= names

        await until(acted_on_everywhere, timeout=60)
        timeline = await analytics.get(f"/v1/requests/{request_id}/timeline", headers=as_role(Role.analyst))
        assert "JobOpened" in [e["name"] for e in timeline.json()["events"]]

    spans = in_trace(exported)
    assert {s.attributes[tracing.SERVICE] for s in spans} == {"intake", "dispatch", "feedback", "analytics"}
    command = one(spans, "intake", "POST /v1/requests")
    assert command.kind is SpanKind.SERVER and f"{command.parent.span_id:016x}" == CALLER.split("-")[2]
    # Intake's events were recorded in the command's span; the relay and each consumer continue it.
    published = one(spans, "intake", "publish RequestTriaged")
    triaged = one(spans, "dispatch", "apply RequestTriaged")
    assert published.kind is SpanKind.PRODUCER and triaged.kind is SpanKind.CONSUMER
    assert published.parent.span_id == triaged.parent.span_id == command.context.span_id
    # Dispatch's JobOpened was recorded in its consumer's span: analytics applies it as that span's child.
    assert one(spans, "analytics", "apply JobOpened").parent.span_id == triaged.context.span_id
    assert one(spans, "dispatch", "publish JobOpened").parent.span_id == triaged.context.span_id
    assert one(spans, "feedback", "apply RequestReceived").parent.span_id == command.context.span_id
    records = await read_topic(broker.bootstrap, f"{prefix}intake.events", 2)
    assert {header(r, "ce_traceparent").split("-")[1] for r in records} == {TRACE_ID}


async def test_nothing_is_traced_or_recorded_while_tracing_is_off(settings_for, broker):
    prefix = f"untraced-{uuid.uuid4().hex[:8]}-"
    app = intake_app(settings_for("intake", IntakeSettings, topic_prefix=prefix), clock=FrozenClock(MONDAY_10))
    async with serving(app) as intake:
        created = await intake.post("/v1/requests", headers={**as_role(Role.agent), "traceparent": CALLER}, json={
            "customer": {"id": "c-untraced", "name": "Ann"}, "channel": "phone", "kind": "fault", "title": "Printer jams",
            "description": "Every page", "urgency": "high", "impact": "medium"})
        assert created.status_code == 201, created.text
        records = await read_topic(broker.bootstrap, f"{prefix}intake.events", 2)
    assert len(records) == 2 and all(header(r, "ce_traceparent") is None for r in records)
