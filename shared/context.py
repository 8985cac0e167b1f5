"""Correlation and causation carried from an HTTP request or a consumed event to what it causes."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

import structlog


@dataclass(frozen=True)
class MessageContext:
    correlation_id: str
    causation_id: str | None = None


_current: ContextVar[MessageContext | None] = ContextVar("servicetrail_message_context", default=None)


def new_id() -> str:
    return str(uuid.uuid4())


def current() -> MessageContext:
    """The context in force, or a fresh correlation for work started out of nowhere."""
    ctx = _current.get()
    return ctx if ctx is not None else MessageContext(correlation_id=new_id())


@contextmanager
def bound(ctx: MessageContext) -> Iterator[MessageContext]:
    token = _current.set(ctx)
    with structlog.contextvars.bound_contextvars(
        correlation_id=ctx.correlation_id, causation_id=ctx.causation_id
    ):
        try:
            yield ctx
        finally:
            _current.reset(token)


def caused_by(event_id: str, correlation_id: str) -> MessageContext:
    """The context for work a consumed event causes."""
    return MessageContext(correlation_id=correlation_id, causation_id=event_id)
