"""The FastAPI application every service starts from: health, readiness, metrics, errors, lineage."""
from __future__ import annotations

import time
from importlib.metadata import version
from typing import Any

from fastapi import Depends, FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import context, tracing
from shared.http.docs import install_docs
from shared.http.fast_lane import FastLane
from shared.http.guards import AuthenticateFirst, BodyLimit
from shared.http.problems import PROBLEM_JSON, install_problem_handlers
from shared.http.ratelimit import RATE_LIMITED, RateLimits
from shared.http.strict_query import no_unknown_query
from shared.metrics import HTTP_LATENCY

VERSION = version("servicetrail")  # the installed package's, as /healthz reports it

CORRELATION_HEADER = "x-correlation-id"
_CORRELATION_KEY = CORRELATION_HEADER.encode()
_CORRELATION_MAX = 128


def correlation_id_of(raw: bytes) -> str | None:
    """The caller's correlation id if it is one we can carry (printable ASCII, at most 128
    characters), else None and a new one is made: a bad id is the caller's bookkeeping, not a
    reason to refuse its request, and it must never reach logs, headers or events as it came."""
    if not raw or len(raw) > _CORRELATION_MAX or not raw.isascii():
        return None
    text = raw.decode("ascii")
    return text if text.isprintable() and not text.isspace() else None


class CorrelationMiddleware:
    """Binds a correlation id (taken from the caller or new) for everything the request causes."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        incoming = correlation_id_of(headers.get(_CORRELATION_KEY, b""))
        ctx = context.MessageContext(correlation_id=incoming or context.new_id(), causation_id=context.new_id())
        started, status = time.perf_counter(), [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message.setdefault("headers", []).append(
                    (CORRELATION_HEADER.encode(), ctx.correlation_id.encode())
                )
            await send(message)

        with context.bound(ctx), tracing.span(f"HTTP {scope['method']}", self.service, SpanKind.SERVER,
                                              headers.get(b"traceparent")) as span:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = getattr(scope.get("route"), "path", "unmatched")
                HTTP_LATENCY.labels(self.service, scope["method"], route, str(status[0])).observe(
                    time.perf_counter() - started)
                if span is not None:
                    span.update_name(f"{scope['method']} {route}")
                    span.set_attributes({"http.request.method": scope["method"], "http.route": route,
                                         "http.response.status_code": status[0]})


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"type": "object"}}}}


def create_app(*, service: str, runtime: Any, version: str = "0.1.0") -> FastAPI:
    """`runtime` (a ServiceRuntime) provides the lifespan, readiness, database and tokens."""
    app = FastAPI(
        title=f"ServiceTrail {service}",
        version=version,
        lifespan=runtime.lifespan,
        dependencies=[Depends(no_unknown_query)],  # an unknown query parameter is a 422, never ignored
        telemetry=None if runtime.settings.http_telemetry else {"tracing": False, "metrics": False, "logs": False},
        # Every operation's possible refusals, so the schema and the behaviour agree (Schemathesis
        # checks each answer against them): problem details, as shared.http.problems writes them.
        responses={
            401: {"description": "Missing or invalid bearer token"},
            403: {"description": "Role not allowed"},
            404: _problem("No such object (an id in the path or the body names none)"),
            409: _problem("Conflict: the object's state does not allow this, or it already exists"),
            413: _problem("Body larger than this service accepts (HTTP_MAX_BODY_BYTES)"),
            422: _problem("Invalid input (problem details naming the field)"),
            429: RATE_LIMITED,
        },
    )
    app.state.runtime, app.state.tokens = runtime, runtime.tokens
    install_problem_handlers(app)
    install_docs(app)  # /docs and /redoc from the package's own assets: the machines have no internet
    # Inside the correlation middleware, so lane answers carry correlation ids and metrics too.
    app.state.fast_lane = {}  # (method, path) -> LaneHandler, filled by the service's bootstrap
    app.add_middleware(FastLane, routes=app.state.fast_lane)
    # Paths whose commands need no bearer token (a service adds its own, e.g. survey links).
    app.state.public_prefixes = []
    app.add_middleware(AuthenticateFirst, public_prefixes=app.state.public_prefixes)  # token before body
    app.add_middleware(BodyLimit, max_bytes=runtime.settings.http_max_body_bytes)
    app.add_middleware(RateLimits, settings=runtime.settings, clock=runtime.real_clock)  # outside the lane: limits it too
    app.add_middleware(CorrelationMiddleware, service=service)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service, "version": VERSION}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        checks: dict[str, bool] = await runtime.ready()
        # A loop that cannot make progress (e.g. a relay whose broker refuses an event) is named
        # only while it is stuck, with the reason; a healthy answer keeps its usual shape.
        stalled: dict[str, str] = runtime.stalled()
        status = "ready" if all(checks.values()) else "unavailable"
        body: dict[str, Any] = {"status": status, "checks": checks}
        if stalled:
            body["status"] = "degraded" if status == "ready" else status
            checks.update(dict.fromkeys(stalled, False))
            body["reasons"] = stalled
        return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)

    # Prometheus' text format, declared as such (FastAPI would document application/json).
    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app

