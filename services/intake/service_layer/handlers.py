"""Intake's use cases: every command is a handler on the bus (`HANDLERS`), run in a unit of work:
`handler(command, uow, **dependencies bootstrap injected)`. Submit, the hot path, runs in a unit
of its own kind (bootstrap names it): its new request's events go through the group-commit
appender, committed with other submits' in one transaction, and its answer is kept after them
(shared/group_commit_unit_of_work.py says what that trades): a transaction of its own per submit
cost 5 to 13 % of its throughput in three of four side-by-side runs (commit 80fa42f). The other
commands each run in a transaction of their own (adapters/unit_of_work.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

import structlog

from services.intake.adapters.queries import RequestQueries
from services.intake.domain import commands as cmd
from services.intake.domain.duplicates import THRESHOLD, similarity
from services.intake.domain.erasure import Erasure
from services.intake.domain.model import Rules, ServiceRequest
from services.intake.service_layer.unit_of_work import IntakeUnitOfWork
from shared.aggregate import IdSource
from shared.batching import BatchLoader
from shared.clock import Clock
from shared.db import Conn, Database
from shared.errors import Forbidden, InvalidTransition, NotFound
from shared.messagebus import MessageBus
from shared.repository import EventSourcedRepository
from shared.shredding.keyring import KeyRing
from shared.shredding.keystore import UnknownCustomer

log = structlog.get_logger(__name__)
Candidate = tuple[str, str, str]  # one of a customer's open requests: (id, title, description)


class OpenRequests(Protocol):
    async def load(self, customer_id: str) -> list[Candidate]:
        """The customer's open requests, their texts plain (`[erased]` once the customer is)."""
        ...


@dataclass(frozen=True)
class OpenedRequests:
    """OpenRequests from the read model (`rows`, batched across concurrent commands), whose texts
    rest sealed: opened here, in the command's own task, so that the customer's key is looked up
    once for the command, to compare and then to seal the new request alike."""

    rows: BatchLoader[str, list[Candidate]]
    keys: KeyRing

    async def load(self, customer_id: str) -> list[Candidate]:
        self.keys.prefetch(customer_id)  # alongside the rows' look-up: to open them, then to seal
        rows = await self.rows.load(customer_id)
        plain = await self.keys.open_own(customer_id, [text for row in rows for text in row[1:]])
        return [(row[0], title, text) for row, title, text in zip(rows, plain[::2], plain[1::2], strict=True)]


@dataclass(frozen=True)
class Intake:
    requests: EventSourcedRepository[ServiceRequest]
    db: Database
    clock: Clock
    rules: Rules
    queries: RequestQueries
    bus: MessageBus  # every command, submit in a group-commit unit and the rest in a transaction each
    unit_on: Callable[[Conn, IdSource], IntakeUnitOfWork]  # a unit joined to a consumer's transaction
    keys: KeyRing  # opens what the read model holds sealed; records who read it


@dataclass(frozen=True)
class Submitted:
    """Submit's result: the new request (as stored, once saved) and its possible duplicates."""

    request: ServiceRequest
    possible_duplicates: list[dict[str, Any]]


async def submit(c: cmd.SubmitRequest, uow: IntakeUnitOfWork, clock: Clock, rules: Rules,
                 open_requests: OpenRequests) -> Submitted:
    if c.caller is not None and not c.caller.owns(c.customer.id):
        raise Forbidden("customers submit requests for themselves only")
    request = ServiceRequest.submit(uow.ids.next(), c, clock.now(), rules)
    uow.requests.add(request.id, request)
    return Submitted(request, await possible_duplicates(open_requests, request))


async def possible_duplicates(open_requests: OpenRequests, request: ServiceRequest) -> list[dict[str, Any]]:
    """Open requests of the same customer that read alike; a hint, never a refusal."""
    assert request.received is not None
    candidates = await open_requests.load(request.customer_id)
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


async def request_of(uow: IntakeUnitOfWork, request_id: str, caller: cmd.Caller | None = None) -> ServiceRequest:
    """The request a command is about; a customer's are theirs alone (anyone else's: 404)."""
    request = await uow.requests.get(request_id)
    if request is None or (caller is not None and not caller.owns(request.customer_id)):
        raise NotFound(f"no request {request_id!r}")
    return request


async def acknowledge(c: cmd.Acknowledge, uow: IntakeUnitOfWork, clock: Clock) -> ServiceRequest:
    request = await request_of(uow, c.request_id)
    request.acknowledge(c, clock.now())
    return request


async def retriage(c: cmd.Retriage, uow: IntakeUnitOfWork, clock: Clock, rules: Rules) -> ServiceRequest:
    request = await request_of(uow, c.request_id)
    request.retriage(c, clock.now(), rules)
    return request


async def confirm_need(c: cmd.ConfirmNeed, uow: IntakeUnitOfWork, clock: Clock) -> ServiceRequest:
    request = await request_of(uow, c.request_id)
    request.confirm_need(c, clock.now())
    return request


async def update(c: cmd.UpdateRequest, uow: IntakeUnitOfWork, clock: Clock) -> ServiceRequest:
    request = await request_of(uow, c.request_id, c.caller)
    request.update(c, clock.now())
    return request


async def take_ownership(c: cmd.TakeOwnership, uow: IntakeUnitOfWork, clock: Clock) -> ServiceRequest:
    request = await request_of(uow, c.request_id)
    request.take_ownership(c, clock.now())
    return request


async def record_contact(c: cmd.RecordContact, uow: IntakeUnitOfWork, clock: Clock) -> ServiceRequest:
    request = await request_of(uow, c.request_id)
    request.record_contact(c, clock.now())
    return request


async def withdraw(c: cmd.Withdraw, uow: IntakeUnitOfWork, clock: Clock) -> ServiceRequest:
    request = await request_of(uow, c.request_id, c.caller)
    request.withdraw(c, clock.now())
    return request


async def merge(c: cmd.Merge, uow: IntakeUnitOfWork, clock: Clock) -> ServiceRequest:
    request = await request_of(uow, c.request_id)
    target = await uow.requests.get(c.into)
    if target is None:
        raise NotFound(f"no request {c.into!r} to merge into")
    request.merge_into(target, c, clock.now())
    return request


async def follow_fact(c: cmd.FollowFact, uow: IntakeUnitOfWork, clock: Clock) -> ServiceRequest | None:
    """Another service's fact about the request (in the consuming transaction)."""
    request = await uow.requests.get(c.request_id)
    if request is None:
        log.warning("a fact about a request intake does not know", request_id=c.request_id, cause=c.cause)
        return None
    request.progress(c, clock.now())
    return request


async def follow_acknowledgement(c: cmd.FollowAcknowledgement, uow: IntakeUnitOfWork,
                                 clock: Clock) -> ServiceRequest | None:
    """Feedback acknowledged an item about the request (in the consuming transaction)."""
    request = await uow.requests.get(c.request_id)
    if request is not None:
        request.answered_by_feedback(c, clock.now())
    return request


async def reopen(c: cmd.Reopen, uow: IntakeUnitOfWork, clock: Clock) -> ServiceRequest:
    """On a rejected resolution (in the consuming transaction)."""
    request = await request_of(uow, c.request_id)
    try:
        request.reopen(c, clock.now())
    except InvalidTransition as exc:
        log.info("rejection of a request that is no longer open; nothing to reopen", reason=str(exc))
    return request


async def erase_customer(c: cmd.EraseCustomer, uow: IntakeUnitOfWork, clock: Clock,
                         erase_key: Callable[[str], Awaitable[bool]]) -> Erasure:
    """The key first, then the record: a retry after a crash between them finds the key gone and
    records the erasure then; once recorded, asking again changes nothing."""
    try:
        await erase_key(c.customer_id)
    except UnknownCustomer:
        raise NotFound(f"no customer {c.customer_id!r}") from None
    erasure = await uow.erasures.get(c.customer_id)
    if erasure is None:
        erasure = Erasure.of(c.customer_id, c.by, clock.now())
        uow.erasures.add(c.customer_id, erasure)
    return erasure


HANDLERS: dict[type, Callable[..., Any]] = {
    cmd.SubmitRequest: submit,
    cmd.Acknowledge: acknowledge,
    cmd.Retriage: retriage,
    cmd.ConfirmNeed: confirm_need,
    cmd.UpdateRequest: update,
    cmd.TakeOwnership: take_ownership,
    cmd.RecordContact: record_contact,
    cmd.Withdraw: withdraw,
    cmd.Merge: merge,
    cmd.FollowFact: follow_fact,
    cmd.Reopen: reopen,
    cmd.FollowAcknowledgement: follow_acknowledgement,
    cmd.EraseCustomer: erase_customer,
}
