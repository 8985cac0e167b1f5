"""OpenTelemetry traces across the services: one trace follows a request from the HTTP command
through the event store (each event keeps the trace context it was recorded in), the relay and
Kafka (the CloudEvents `traceparent` extension, header `ce_traceparent`) into every consumer that
acts on it, and on into the events those consumers record.

Off unless installed: `configure` installs the SDK with an OTLP exporter when
OTEL_EXPORTER_OTLP_ENDPOINT is set; tests install their own provider (an in-memory exporter).
While off, nothing is traced and nothing is added to any event: a hot path pays one flag check.
"""
from __future__ import annotations

import contextlib
import os
from typing import ContextManager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

SERVICE = "servicetrail.service"  # the span attribute naming the service (several may share a process)

_propagator = TraceContextTextMapPropagator()
_tracer: trace.Tracer | None = None


def install(provider: trace.TracerProvider) -> None:
    """Trace through `provider` from now on."""
    global _tracer
    _tracer = provider.get_tracer("servicetrail")


def uninstall() -> None:
    global _tracer
    _tracer = None


def enabled() -> bool:
    return _tracer is not None


def configure(service: str) -> None:
    """At a process's start: the SDK with an OTLP/HTTP exporter if OTEL_EXPORTER_OTLP_ENDPOINT is
    set (the exporter reads its other OTEL_* settings itself); otherwise tracing stays off."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or enabled():
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": f"servicetrail-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install(provider)


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the span now current, to keep with what is recorded; None if off."""
    if _tracer is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def _parent(traceparent: str | bytes | None) -> Context | None:
    if not traceparent:
        return None
    text = traceparent.decode("ascii", "replace") if isinstance(traceparent, bytes) else traceparent
    return _propagator.extract({"traceparent": text})


_OFF: contextlib.nullcontext[None] = contextlib.nullcontext()


def span(name: str, service: str, kind: SpanKind, parent: str | bytes | None = None,
         **attributes: str | int) -> ContextManager[Span | None]:
    """A span (current within the block) continuing the trace `parent` names, or a new trace;
    None, and nothing done, while tracing is off (no generator, no context switch: hot paths)."""
    if _tracer is None:
        return _OFF
    return _tracer.start_as_current_span(name, context=_parent(parent), kind=kind,
                                         attributes={SERVICE: service, **attributes})
