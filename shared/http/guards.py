"""What is refused before a route reads a body: one over the size limit (413), and one from a
caller without a valid token (401).

The size limit is our own rather than FastAPI's `max_body_size`: Starlette's limiter answers
plain text and replaces any answer the app gives to an over-long request with it, where every
answer here is problem details naming the field.

Authentication before the body: a request with a body is refused (401) before a byte of it is
read or parsed unless its bearer token is valid, on every path but those declared public.

FastAPI reads and parses a route's body before it solves the route's dependencies, so the token
check in `shared.auth.authenticated` would come after the parse: anyone without a token could make
a service parse up to `HTTP_MAX_BODY_BYTES` of JSON per request. This middleware runs the same
check first, for requests that carry a body, and answers exactly as the route would (same 401,
same problem details); requests without a body, and public paths (a survey link), pass.
"""
from __future__ import annotations

from typing import Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import authenticated
from shared.http.problems import TOO_LARGE, http_problem

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuthenticateFirst:
    """Every request with a body needs a valid bearer token before its body is read, except on the
    paths the service declares public (`public_prefixes`, e.g. feedback's survey links, whose token
    is in the path). Explicit rather than inferred from each route's dependencies: a public
    command is a decision, and the authorization matrix test holds every route to it."""

    def __init__(self, app: ASGIApp, public_prefixes: Sequence[str]) -> None:
        self.app, self.public_prefixes = app, public_prefixes  # the same list: the service adds to it later

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in _BODY_METHODS or not _has_body(scope)
                or scope["path"].startswith(tuple(self.public_prefixes))):
            await self.app(scope, receive, send)
            return
        try:
            await authenticated(Request(scope))
        except HTTPException as refused:
            await http_problem(refused)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


class BodyLimit:
    """413 for a body over `max_bytes`: by its Content-Length before a byte is read, or, streamed
    without one, as soon as the bytes read pass the limit (raised from `receive`, so a route or the
    fast lane answers it as an HTTPException)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await http_problem(HTTPException(413, TOO_LARGE))(scope, receive, send)
            return
        read = 0

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            read += len(message.get("body", b""))
            if read > self.max_bytes:
                raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
