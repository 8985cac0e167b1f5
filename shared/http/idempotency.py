"""`Idempotency-Key`: a retried command returns the first answer and records nothing twice.

Two layers: ids of everything a command creates derive from the key (so even a retry racing the
first attempt, or following a crash, appends the same event ids and the event store keeps one);
and the first answer is kept here so that a retry gets it back verbatim.
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable

import orjson
from fastapi import Depends, Request
from fastapi.responses import Response

from shared.auth import Principal, Role, allowed_roles, authenticated, check_role
from shared.db import fetch, from_jsonb, ident
from shared.errors import Invalid

HEADER = "Idempotency-Key"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """One serialisation, straight to bytes (datetimes as RFC 3339 with Z)."""
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), status_code=status,
                    media_type="application/json", headers=headers)


class Idempotency:
    def __init__(self, runtime: Any, scope: str, key: str | None, body_hash: str, principal: Principal) -> None:
        self._runtime = runtime
        self._schema = ident(runtime.settings.schema_name)
        self.scope, self.key, self.body_hash = scope, key, body_hash
        self.principal = principal  # who sent the command

    @classmethod
    def of_command(cls, runtime: Any, command: str, principal: Principal, path: str, key: str | None,
                   body: bytes) -> "Idempotency":
        """The key of one command sent by `principal` to `path` (checked), bound to its body."""
        if key is not None and not (1 <= len(key) <= 255):
            raise Invalid(HEADER, "must be 1 to 255 characters")
        body_hash = hashlib.sha256(body).hexdigest() if key else ""
        return cls(runtime, f"{command}:{principal.subject}:{path}", key, body_hash, principal)

    @property
    def seed(self) -> str | None:
        return f"{self.scope}:{self.key}" if self.key else None

    async def replay(self) -> Response | None:
        if not self.key:
            return None
        async with self._runtime.db.connect() as conn:
            rows = await fetch(
                conn,
                f"SELECT request_hash, status_code, body FROM {self._schema}.idempotency_keys "
                f"WHERE scope = $1 AND key = $2",
                self.scope,
                self.key,
            )
        if not rows:
            return None
        request_hash, status, body = rows[0]
        if request_hash != self.body_hash:
            raise Invalid(HEADER, "this key was already used for a different request body")
        return json_response(from_jsonb(body), status, {"Idempotent-Replayed": "true"})

    async def remember(self, status: int, body: Any) -> Response:
        """Keep the first answer for retries (when a key was given) and return it."""
        content = orjson.dumps(body, option=orjson.OPT_UTC_Z)
        if self.key:
            async with self._runtime.db.begin() as conn:
                await fetch(
                    conn,
                    f"INSERT INTO {self._schema}.idempotency_keys (key, scope, request_hash, status_code, body) "
                    f"VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (scope, key) DO NOTHING",
                    self.key,
                    self.scope,
                    self.body_hash,
                    status,
                    content.decode(),
                )
        return Response(content, status_code=status, media_type="application/json")


def idempotency(command: str) -> Callable[..., Any]:
    async def dependency(request: Request, principal: Principal = Depends(authenticated)) -> Idempotency:
        return await _idempotency(request, command, principal)

    return dependency


def command(name: str, *roles: Role) -> Callable[..., Any]:
    """A command endpoint's one dependency: the caller, authenticated and allowed one of `roles`,
    and its Idempotency-Key (as `Idempotency.principal` and the rest).

    One dependency rather than a chain of them: on a hot path FastAPI's per-dependency cost shows.
    """
    allowed = allowed_roles(*roles)

    async def dependency(request: Request) -> Idempotency:
        principal = await authenticated(request)
        check_role(principal, allowed)
        return await _idempotency(request, name, principal)

    return dependency


async def _idempotency(request: Request, command: str, principal: Principal) -> Idempotency:
    key = request.headers.get(HEADER)
    body = await request.body() if key else b""
    return Idempotency.of_command(request.app.state.runtime, command, principal, request.url.path, key, body)


def answered(answer: Any) -> Response:
    """The command bus's answer (shared.messagebus.Answer) over HTTP; a retried command's first
    answer says it is one."""
    return json_response(answer.body, answer.status, {"Idempotent-Replayed": "true"} if answer.replayed else None)
