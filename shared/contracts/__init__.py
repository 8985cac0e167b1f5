"""Published event contracts: every event each service puts on its topic, typed and versioned.

One module per producing service (`intake`, `dispatch`, `feedback`), each with its registry of
payload models and their upcasters. The producer emits from these models; every consumer,
projection and the analytics archive decodes each record by its full `ce_type` with `decode`
(old versions upcast to the current one) and reads typed attributes, never a raw dict. Pure:
pydantic only, so any service's domain layer may import it; no service imports another.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generic, Mapping, TypeVar

from pydantic import ValidationError

from shared.contracts import dispatch, feedback, intake
from shared.events import DomainEvent, EventRegistry, UnknownEventType, parse_event_type

if TYPE_CHECKING:
    from shared.envelope import Envelope

REGISTRIES: dict[str, EventRegistry] = {r.service: r for r in (intake.registry, dispatch.registry, feedback.registry)}

# The topics each service's consumer group reads (topic prefix aside): every service's consumer
# subscribes from here, and ops measures a group's lag against them, even before it committed.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "intake": ("dispatch.events", "feedback.events"),
    "dispatch": ("intake.events",),
    "feedback": ("intake.events", "dispatch.events"),
    "analytics": ("intake.events", "dispatch.events", "feedback.events"),
}


class ContractViolation(ValueError):
    """A record whose payload does not fit the contract its `ce_type` names: it can never be
    applied as it is, so it goes to the dead-letter topic at once (no retries)."""

    def __init__(self, ce_type: str, error: ValidationError | Exception) -> None:
        fields = sorted({".".join(map(str, e["loc"])) or "data" for e in error.errors()}) \
            if isinstance(error, ValidationError) else ["data"]
        super().__init__(f"{ce_type} does not fit its contract ({', '.join(fields)}): {error}")
        self.ce_type, self.fields = ce_type, fields


def knows(ce_type: str) -> bool:
    """Whether `ce_type` names a published event of a version this code can read."""
    try:
        service, name, version = parse_event_type(ce_type)
    except (UnknownEventType, ValueError):
        return False
    registry = REGISTRIES.get(service)
    cls = registry.get(name) if registry else None
    return cls is not None and 1 <= version <= cls.version


def decode(ce_type: str, data: Mapping[str, Any]) -> DomainEvent:
    """The typed event, upcast to its current version. UnknownEventType for a type (or a version)
    this code does not know; ContractViolation for a payload that does not fit."""
    if not knows(ce_type):
        raise UnknownEventType(ce_type)
    service = parse_event_type(ce_type)[0]
    try:
        return REGISTRIES[service].decode(ce_type, dict(data))
    except (ValidationError, KeyError, TypeError, ValueError) as exc:  # an upcaster meeting a misfit too
        raise ContractViolation(ce_type, exc) from exc


def decoded(env: "Envelope") -> "Envelope":
    """`env` with its typed event attached (`env.event`)."""
    return replace(env, event=decode(env.type, env.data))


E = TypeVar("E", bound=DomainEvent)
Reaction = Callable[[Any, Any, "Envelope"], Awaitable[None]]  # (connection, typed event, envelope)


class Reactions(Generic[E]):
    """A consumer's handlers by contract class, the cosmicpython way:
    `Reactions({RequestTriaged: open_job, RequestWithdrawn: release})`.

    Called with a decoded envelope (the consumer runner decodes before the transaction); an event
    of a known type without a handler here is applied as nothing.
    """

    def __init__(self, handlers: Mapping[type[DomainEvent], Reaction]) -> None:
        self.handlers = dict(handlers)

    async def __call__(self, conn: Any, env: "Envelope") -> None:
        event = env.event if env.event is not None else decode(env.type, env.data)
        handler = self.handlers.get(type(event))
        if handler is not None:
            await handler(conn, event, env)


__all__ = ["REGISTRIES", "ContractViolation", "Reactions", "decode", "decoded", "knows", "intake", "dispatch",
           "feedback"]
