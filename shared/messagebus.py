"""The command bus: one runner for every command of a service (cosmicpython's message bus).

Commands are frozen dataclasses; a service's `HANDLERS` maps each command class to the async
function that carries it out, `handler(command, uow, **dependencies)`, the dependencies bound by
the service's bootstrap (`inject`). For every command the bus:

1. opens a unit of work (its ids derived from the command's idempotency key, if any): one with a
   transaction of its own, unless the bootstrap named another kind for the command's class (a
   hot path's group-commit unit, shared.group_commit_unit_of_work);
2. answers with the first answer if the key was used before (422 if for another body);
3. runs the handler, which loads aggregates from the unit's repositories and applies the command
   (a repository that finds the command already recorded ends it there, `AlreadyRecorded`: the
   answer is then built from the aggregate as stored, and nothing is saved);
4. saves, so the aggregates are at their streams' new versions, and builds the answer from them;
5. remembers the answer under the key and commits, both in the unit's transaction (a group-commit
   unit keeps the answer once its appends have committed);
6. on a lost race (ConcurrencyError) starts again from 1, on the newer state (`shared.retry`);
7. once committed, hands the events recorded to any in-process event handlers.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import partial
from typing import Any, Awaitable, Callable, Mapping, Protocol, Sequence

from shared.aggregate import IdSource
from shared.errors import Invalid
from shared.events import DomainEvent
from shared.eventstore import ConcurrencyError
from shared.retry import ATTEMPTS, pause_after_loss
from shared.unit_of_work import AlreadyRecorded, UnitOfWork

Handler = Callable[..., Awaitable[Any]]
EventHandler = Callable[[DomainEvent], Awaitable[None]]
UnitFactory = Callable[[IdSource], UnitOfWork]
KEY_FIELD = "Idempotency-Key"  # what a client calls the key (the HTTP header), in a 422


class CommandKey(Protocol):
    """The idempotency key a command was sent under (shared.http.idempotency.Idempotency is one):
    `scope` (who sent which command where), `key` (None: none given) and the hash of its body."""

    scope: str
    key: str | None
    body_hash: str


@dataclass(frozen=True)
class Answer:
    """What a command answered: `replayed` when it is the first answer to a retried command."""

    status: int
    body: Any
    replayed: bool = False


def inject(handlers: Mapping[type, Handler], **dependencies: Any) -> dict[type, Handler]:
    """Bind each handler's parameters named in `dependencies` (bootstrap's one explicit wiring);
    what is left is `handler(command, uow)`."""
    def bound(handler: Handler) -> Handler:
        wanted = {name: dependencies[name] for name in inspect.signature(handler).parameters if name in dependencies}
        return partial(handler, **wanted) if wanted else handler

    return {command: bound(handler) for command, handler in handlers.items()}


class MessageBus:
    """Dispatches each command to its handler in a unit of work (see the module's steps)."""

    def __init__(self, uow: UnitFactory, handlers: Mapping[type, Handler],
                 event_handlers: Mapping[type[DomainEvent], Sequence[EventHandler]] | None = None,
                 attempts: int = ATTEMPTS, units: Mapping[type, UnitFactory] | None = None) -> None:
        """`uow(ids)` makes a unit of work with its own transaction; `handlers` take
        `(command, uow)` (see `inject`); `event_handlers` react in process after a commit;
        `units` names another unit factory for some command classes."""
        self.uow, self.handlers, self.attempts = uow, dict(handlers), attempts
        self.event_handlers = dict(event_handlers or {})
        self.units = dict(units or {})

    async def handle(self, command: object, key: CommandKey | None = None,
                     view: Callable[[Any], Any] = lambda result: result, status: int = 200) -> Answer:
        """Carry out `command` in a unit of work of its own; the answer is `view(result)`, where
        `result` is what the handler returned (the aggregate as stored, if it was recorded before).
        Domain errors propagate; after `attempts` lost races, the last ConcurrencyError does."""
        handler = self._handler_for(command)
        unit = self.units.get(type(command), self.uow)
        seed = f"{key.scope}:{key.key}" if key is not None and key.key else None
        # The retry loop is written out here rather than run by shared.retry.on_conflict: its
        # closure and two more frames, resumed at every await of the command, cost intake's submit.
        for n in range(1, self.attempts + 1):
            try:
                async with unit(IdSource(seed)) as uow:
                    if seed is not None and (kept := await uow.remembered(key.scope, key.key)) is not None:
                        if kept.body_hash != key.body_hash:
                            raise Invalid(KEY_FIELD, "this key was already used for a different request body")
                        return Answer(kept.status, kept.body, replayed=True)
                    try:
                        result = await handler(command, uow)
                    except AlreadyRecorded as recorded:  # saving nothing, so as not to record it twice
                        return Answer(status, view(recorded.aggregate))
                    await uow.save()  # before the view: the answer carries the versions just written
                    answer = Answer(status, view(result))
                    if seed is not None:
                        await uow.remember(key.scope, key.key, key.body_hash, answer.status, answer.body)
                    await uow.commit()
                break
            except ConcurrencyError:
                if n == self.attempts:
                    raise
                await pause_after_loss(n)
        if self.event_handlers:
            for event in uow.collect_new_events():
                for react in self.event_handlers.get(type(event), ()):
                    await react(event)
        return answer

    async def handle_in(self, uow: UnitOfWork, command: object) -> Any:  # noqa: ANN401
        """Carry out `command` in `uow`, a unit joined to a transaction its caller holds (a
        consumer's, a scheduler's): no retry and no answer kept, since a lost race fails the
        caller's transaction, which its owner runs again. Returns the handler's result."""
        handler = self._handler_for(command)
        async with uow:
            try:
                result = await handler(command, uow)
            except AlreadyRecorded as recorded:
                return recorded.aggregate
            await uow.commit()
        return result

    def _handler_for(self, command: object) -> Handler:
        try:
            return self.handlers[type(command)]
        except KeyError:
            raise TypeError(f"no handler for {type(command).__name__}") from None
