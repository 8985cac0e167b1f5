"""`Idempotency-Key`: a retried command returns the first answer and records nothing twice.

Two layers: ids of everything a command creates derive from the key (so even a retry racing the
first attempt, or following a crash, appends the same event ids and the event store keeps one);
and the first answer is kept, so that a retry gets it back verbatim: the command bus keeps it in
its unit of work (shared.messagebus), and `answered` says which answer is a replay. This module
reads the key and binds it to the command's scope and body.
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable

import orjson
from fastapi import Depends, Request
from fastapi.responses import Response

from shared.auth import Principal, Role, allowed_roles, authenticated, check_role
from shared.errors import Invalid

HEADER = "Idempotency-Key"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """One serialisation, straight to bytes (datetimes as RFC 3339 with Z)."""
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), status_code=status,
                    media_type="application/json", headers=headers)


class Idempotency:
    """The key a command was sent under (shared.messagebus.CommandKey), and who sent it."""

    def __init__(self, scope: str, key: str | None, body_hash: str, principal: Principal) -> None:
        self.scope, self.key, self.body_hash = scope, key, body_hash
        self.principal = principal  # who sent the command

    @classmethod
    def of_command(cls, command: str, principal: Principal, path: str, key: str | None,
                   body: bytes) -> "Idempotency":
        """The key of one command sent by `principal` to `path` (checked), bound to its body."""
        if key is not None and not (1 <= len(key) <= 255):
            raise Invalid(HEADER, "must be 1 to 255 characters")
        body_hash = hashlib.sha256(body).hexdigest() if key else ""
        return cls(f"{command}:{principal.subject}:{path}", key, body_hash, principal)


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
    return Idempotency.of_command(command, principal, request.url.path, key, body)


def answered(answer: Any) -> Response:
    """The command bus's answer (shared.messagebus.Answer) over HTTP; a retried command's first
    answer says it is one."""
    return json_response(answer.body, answer.status, {"Idempotent-Replayed": "true"} if answer.replayed else None)
