"""A fast lane past FastAPI's routing and dependency layers, for a service's hottest command.

Measured on intake's submit, FastAPI's routing, dependency solving and response plumbing took
about as much CPU as the command itself. A lane handler gets the headers and the raw body of one
route. It answers only what it can fully check up front: the caller's token and role, and a body
valid for the route's schema. Anything else returns None, and the request goes on to the FastAPI
route unchanged (body included), which owns every error answer, OpenAPI and the rest. So the lane
and the route must share the command's core; only the checks in front of it are the lane's.
Refusals raised by that core (invalid, unknown, conflicting) and an unreachable database (503)
are answered as the app answers them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping

from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.problems import http_problem, problem_for, retry_after_of
from shared.metrics import FAST_LANE

LaneHandler = Callable[[Headers, bytes], Awaitable[Response | None]]


@dataclass(frozen=True)
class _Route:
    path: str  # what the request metrics label a route by, as for FastAPI's own routes


class FastLane:
    def __init__(self, app: ASGIApp, routes: Mapping[tuple[str, str], LaneHandler]) -> None:
        self.app, self.routes = app, routes  # the same mapping, so routes added later are seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.routes.get((scope.get("method", ""), scope.get("path", "")))
        if scope["type"] != "http" or handler is None:
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except HTTPException as refused:  # the body limit (413), answered like the app's own refusals
            await http_problem(refused)(scope, receive, send)
            return
        try:
            answer = await handler(Headers(scope=scope), body)
        except Exception as exc:
            if (answer := problem_for(exc, retry_after_of(scope.get("app")))) is None:
                raise
        if answer is None:
            FAST_LANE.labels(scope["path"], "passed_on").inc()
            await self.app(scope, _replaying(body, receive), send)
            return
        FAST_LANE.labels(scope["path"], "answered").inc()
        scope["route"] = _Route(scope["path"])
        await answer(scope, receive, send)


def is_json(headers: Headers) -> bool:
    """A JSON body by its content type, as FastAPI would read it (else the route says what is wrong)."""
    media = headers.get("content-type", "").partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body once more, then whatever the server sends next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
