"""Projects a service's own events into its read models, exactly once.

Follows the event store by global position (so a late commit is never skipped); each batch's
read-model writes and the checkpoint commit in one transaction, so a crash replays, never doubles.
"""
from __future__ import annotations

from typing import Protocol

from shared.checkpoint import Checkpoint
from shared.db import Conn, Database
from shared.envelope import Envelope
from shared.eventstore import EventStore
from shared.follower import PositionFollower


class Projection(Protocol):
    name: str

    async def apply(self, conn: Conn, env: Envelope) -> None:
        """Fold one event into the read model, on the batch's transaction."""


class Rebuildable(Projection, Protocol):
    """A projection `servicetrail projections rebuild` can build anew beside the live one."""

    tables: tuple[str, ...]  # its read model's tables, in its schema

    def on_schema(self, schema: str) -> Projection:
        """The same projection writing to the same tables in `schema`, once, from the first event on
        into empty tables: it may keep rows in memory between batches and write them only when
        flushed (an `async def flush(conn)`)."""


async def flush(projection: Projection, conn: Conn) -> None:
    """Writes what `projection` holds back between batches, if it does: a rebuild's projection may
    (see `Rebuildable`), and is flushed before it is compared and switched in."""
    if (flush_rows := getattr(projection, "flush", None)) is not None:
        await flush_rows(conn)


async def fold(projection: Projection, conn: Conn, events: list[Envelope]) -> None:
    """`events` folded into `projection`'s read model, on `conn`."""
    # A projection may fold a batch at once (fewer statements); the effect must equal `apply`'s.
    if (apply_batch := getattr(projection, "apply_batch", None)) is not None:
        await apply_batch(conn, events)
        return
    for env in events:
        await projection.apply(conn, env)


class ProjectionRunner(PositionFollower):
    def __init__(
        self, db: Database, store: EventStore, projection: Projection,
        *, batch_size: int = 500, poll_seconds: float = 0.25, linger_seconds: float = 0.0,
    ) -> None:
        super().__init__(db, store, Checkpoint(store.schema, f"projection:{projection.name}"),
                         batch_size=batch_size, poll_seconds=poll_seconds, linger_seconds=linger_seconds)
        self.projection = projection

    async def handle(self, conn: Conn, events: list[Envelope]) -> None:
        await fold(self.projection, conn, events)
