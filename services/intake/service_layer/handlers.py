"""Intake's use cases: each takes a command and the dependencies bootstrap wired in."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

import structlog

from services.intake.adapters.queries import RequestQueries
from services.intake.domain import commands as cmd
from services.intake.domain.duplicates import THRESHOLD, similarity
from services.intake.domain.model import Rules, ServiceRequest
from shared.aggregate import IdSource
from shared.batching import BatchLoader
from shared.clock import Clock
from shared.db import Conn, Database
from shared.envelope import Envelope
from shared.errors import InvalidTransition, NotFound
from shared.repository import EventSourcedRepository
from shared.retry import on_conflict

log = structlog.get_logger(__name__)
Append = Callable[[str, Sequence[Envelope], int], Awaitable[int]]
Check = Callable[[ServiceRequest], None]


@dataclass(frozen=True)
class Intake:
    requests: EventSourcedRepository[ServiceRequest]
    append: Append
    db: Database
    clock: Clock
    rules: Rules
    queries: RequestQueries
    open_requests: BatchLoader[str, list[tuple[str, str, str]]]


async def submit_request(c: cmd.SubmitRequest, intake: Intake, ids: IdSource) -> tuple[ServiceRequest, list[dict[str, Any]]]:
    request = ServiceRequest.submit(ids.next(), c, intake.clock.now(), intake.rules)
    duplicates = await possible_duplicates(intake, request)
    envelopes = intake.requests.envelopes(request.take_pending(), ids)
    request.version = await intake.append(intake.requests.stream_id(request.id), envelopes, 0)
    return request, duplicates


async def possible_duplicates(intake: Intake, request: ServiceRequest) -> list[dict[str, Any]]:
    """Open requests of the same customer that read alike; a hint, never a refusal."""
    assert request.received is not None
    candidates = await intake.open_requests.load(request.customer_id)
    title, text = request.received.title, request.received.description
    scored = [{"id": i, "title": t, "similarity": similarity(title, text, t, d)}
              for i, t, d in candidates if i != request.id]
    return sorted((s for s in scored if s["similarity"] >= THRESHOLD), key=lambda s: -s["similarity"])[:5]


async def get_request(request_id: str, intake: Intake, conn: Conn | None = None) -> ServiceRequest:
    if conn is None:
        async with intake.db.connect() as own:
            request = await intake.requests.get(own, request_id)
    else:
        request = await intake.requests.get(conn, request_id)
    if request is None:
        raise NotFound(f"no request {request_id!r}")
    return request


async def change(
    intake: Intake, request_id: str, seed: str | None, check: Check, mutate: Callable[[ServiceRequest], Any]
) -> ServiceRequest:
    """Load, check access, apply, append at the loaded version; on a lost race, start over."""

    async def attempt() -> ServiceRequest:
        ids = IdSource(seed)  # the same ids every attempt: only one attempt can ever be stored
        request = await get_request(request_id, intake)
        check(request)
        if ids.seeded and ids.peek() in request.recorded_ids:
            return request  # this very command was recorded already: a retry
        outcome = mutate(request)
        if inspect.isawaitable(outcome):
            await outcome
        events = request.take_pending()
        if events:
            request.version = await intake.append(
                intake.requests.stream_id(request_id), intake.requests.envelopes(events, ids), request.version
            )
        return request

    return await on_conflict(attempt)


async def withdraw(c: cmd.Withdraw, intake: Intake, seed: str | None, check: Check) -> ServiceRequest:
    def apply(request: ServiceRequest) -> None:
        request.withdraw(c, intake.clock.now())

    return await change(intake, c.request_id, seed, check, apply)


async def merge(c: cmd.Merge, intake: Intake, seed: str | None, check: Check) -> ServiceRequest:
    async def apply(request: ServiceRequest) -> None:
        try:
            target = await get_request(c.into, intake)
        except NotFound as exc:
            raise NotFound(f"no request {c.into!r} to merge into") from exc
        request.merge_into(target, c, intake.clock.now())

    return await change(intake, c.request_id, seed, check, apply)


async def follow_fact(conn: Conn, c: cmd.FollowFact, intake: Intake, ids: IdSource) -> None:
    """Another service's fact about the request (inside the consuming transaction)."""
    try:
        request = await get_request(c.request_id, intake, conn)
    except NotFound:
        log.warning("a fact about a request intake does not know", request_id=c.request_id, cause=c.cause)
        return
    if request.progress(c, intake.clock.now()):
        await intake.requests.save(conn, c.request_id, request, ids)


async def reopen(conn: Conn, c: cmd.Reopen, intake: Intake, ids: IdSource) -> None:
    """On a rejected resolution (inside the consuming transaction)."""
    request = await get_request(c.request_id, intake, conn)
    try:
        request.reopen(c, intake.clock.now())
    except InvalidTransition as exc:
        log.info("rejection of a request that is no longer open; nothing to reopen", reason=str(exc))
        return
    await intake.requests.save(conn, c.request_id, request, ids)
