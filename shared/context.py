"""Correlation and causation carried from an HTTP request or a consumed event to what it causes."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterator, MutableMapping

from shared.ids import new_uuid


@dataclass(frozen=True)
class MessageContext:
    correlation_id: str
    causation_id: str | None = None


_current: ContextVar[MessageContext | None] = ContextVar("servicetrail_message_context", default=None)


def new_id() -> str:
    return new_uuid()


def current() -> MessageContext:
    """The context in force, or a fresh correlation for work started out of nowhere."""
    ctx = _current.get()
    return ctx if ctx is not None else MessageContext(correlation_id=new_id())


@contextmanager
def bound(ctx: MessageContext) -> Iterator[MessageContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


def add_to_log(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: every log line carries the correlation in force when it was written.

    Read at log time rather than bound per request: binding cost every request more than the
    logging it served.
    """
    ctx = _current.get()
    if ctx is not None:
        event.setdefault("correlation_id", ctx.correlation_id)
        event.setdefault("causation_id", ctx.causation_id)
    return event


def caused_by(event_id: str, correlation_id: str) -> MessageContext:
    """The context for work a consumed event causes."""
    return MessageContext(correlation_id=correlation_id, causation_id=event_id)
