"""PostgreSQL access. SQLAlchemy 2 (async, asyncpg) owns the engine, its pool and the Alembic
migrations; statements run on the pooled asyncpg connection itself, inside an asyncpg transaction.

All SQL here is hand-written with `$n` parameters, so SQLAlchemy's statement layer (compilation,
cursor adaptation, greenlet hops) would add cost and nothing else: measured, it took most of the
CPU of a request. One connection type (`Conn`) serves every adapter.
"""
from __future__ import annotations

import os
import re
import weakref
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Sequence

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.metrics import DB_POOL_IN_USE, DB_POOL_SIZE

Conn = asyncpg.Connection
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def async_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def plain_url(url: str) -> str:
    """The libpq form asyncpg.connect accepts."""
    return "postgresql://" + async_url(url)[len("postgresql+asyncpg://"):]


def _checked_out(engine: AsyncEngine | None) -> float:
    return float(engine.pool.checkedout()) if engine is not None else 0.0  # type: ignore[attr-defined]


class Database:
    """Connections from SQLAlchemy's pool, used as asyncpg connections."""

    def __init__(self, url: str, pool_size: int = 10, name: str = "servicetrail") -> None:
        # A fixed pool: callers queue for a warm connection. Overflow connections, opened and
        # closed under load, cost a server fork, codec set-up and a cold statement cache each.
        self.engine: AsyncEngine = create_async_engine(
            async_url(url), pool_size=pool_size, max_overflow=0, pool_timeout=30, pool_pre_ping=False,
            json_deserializer=orjson.loads,  # jsonb read back (events, answers) is decoded by orjson
            # pg_stat_activity then says which process holds a session (or a lock): "<name>:<pid>".
            connect_args={"server_settings": {"application_name": f"{name}:{os.getpid()}"[:63]}},
        )
        # Read when /metrics is scraped; weakly, so a disposed engine is not kept alive by its gauge.
        engine = weakref.ref(self.engine)
        DB_POOL_IN_USE.labels(name).set_function(lambda: _checked_out(engine()))
        DB_POOL_SIZE.labels(name).set(pool_size)

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Conn]:
        """A connection whose statements each commit on their own (reads, mostly)."""
        async with self._checkout() as conn:
            yield conn

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Conn]:
        """A connection inside one transaction: committed on exit, rolled back on error."""
        async with self._checkout() as conn:
            async with conn.transaction():
                yield conn

    @asynccontextmanager
    async def _checkout(self) -> AsyncIterator[Conn]:
        # SQLAlchemy never sees errors raised on the driver connection, so it cannot tell a dead
        # connection from a live one. A restart kills every pooled connection at once, so the first
        # one found dead retires them all (see `_retire`) and the second try opens a new one: the
        # first request after a restart succeeds. asyncpg's is_closed() is a flag, not a round trip.
        for _ in range(2):
            async with self.engine.connect() as pooled:
                raw = await pooled.get_raw_connection()
                conn: Conn = raw.driver_connection  # type: ignore[assignment]
                if conn.is_closed():
                    await self._retire(pooled, raw, everything=True)
                    continue
                try:
                    yield conn
                except BaseException as exc:
                    if conn.is_closed() or is_unavailable(exc):
                        # An outage seen on a live connection (a timeout, say) condemns only it.
                        await self._retire(pooled, raw, everything=conn.is_closed())
                    raise
                return
        raise ConnectionError("no live database connection in the pool")

    async def _retire(self, pooled: AsyncConnection, raw: Any, everything: bool) -> None:
        if everything:
            # The pool-wide invalidation SQLAlchemy itself applies on a disconnect: each connection
            # opened before now is replaced at its next checkout (checked-out ones included, once
            # returned), without closing the ones in use under their holders.
            self.engine.sync_engine.pool._invalidate(raw, _checkin=False)
        await pooled.invalidate()

    async def dispose(self) -> None:
        await self.engine.dispose()


class HeldConnection:
    """One pooled connection kept across the operations of one long-lived task (a writer, a batch
    loader): checking a connection out of the pool and back costs ~60 µs of CPU, more than many of
    their statements. Not for concurrent use. A connection that saw an error goes back to the
    pool (discarded if dead), as does one found dead when next used, and that use takes another.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._checkout: Any = None
        self._conn: Conn | None = None

    @asynccontextmanager
    async def use(self) -> AsyncIterator[Conn]:
        if self._conn is not None and self._conn.is_closed():  # died while kept (a restart): replace it
            await self.release(ConnectionError("the held connection closed"))
        if self._conn is None:
            checkout = self.db.connect()
            self._conn = await checkout.__aenter__()
            self._checkout = checkout
        try:
            yield self._conn
        except BaseException as exc:
            await self.release(exc)
            raise
        if self._conn is not None and self._conn.is_closed():  # died under an error handled inside
            await self.release(ConnectionError("the held connection closed"))

    async def release(self, exc: BaseException | None = None) -> None:
        checkout, self._checkout, self._conn = self._checkout, None, None
        if checkout is not None:
            await checkout.__aexit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)


def ident(name: str) -> str:
    """A schema or table name checked before it is put into SQL text."""
    if not _IDENT.match(name):
        raise ValueError(f"unsafe SQL identifier: {name!r}")
    return name


async def fetch(conn: Conn, sql: str, *params: Any) -> list[asyncpg.Record]:
    return await conn.fetch(sql, *params)


async def execute(conn: Conn, sql: str, *params: Any) -> int:
    """Runs a statement; returns the number of rows it touched."""
    status = await conn.execute(sql, *params)
    count = status.rsplit(" ", 1)[-1]
    return int(count) if count.isdigit() else 0


async def execute_each(conn: Conn, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """`sql` once per row of parameters: one row as a plain statement (a command's write), more in
    one pipelined round trip (a rebuild's)."""
    if len(rows) == 1:
        await conn.execute(sql, *rows[0])
    elif rows:
        await conn.executemany(sql, rows)


# Selected within a transaction, its commit need not wait for its WAL flush (it rides along in a
# statement the transaction sends anyway). Only for writes derived from durable facts (positions,
# checkpoints, projections): WAL is replayed in order, so after a crash any surviving checkpoint
# still has everything before it, and a lost one is recomputed or republished. Never for a
# consumer's applied-event record, whose Kafka offset is committed on the strength of it.
RELAXED_COMMIT_SQL = "set_config('synchronous_commit', 'off', true)"


def from_jsonb(value: Any) -> Any:
    """jsonb as Python, whether the connection's codec decoded it or not."""
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


# SQLSTATEs of a server that cannot serve, whatever the statement: connection exceptions (08),
# shutdowns, "cannot connect now" and a dropped database (57P), too many connections (53300).
_UNAVAILABLE_STATES = ("08", "57P", "53300")
_CLOSED = ("connection is closed", "connection was closed")


def is_unavailable(exc: BaseException) -> bool:
    """The database (or the way to it) failed, not the statement: to be waited out or answered 503,
    never blamed on the event or request. Looks through the whole chain of causes: SQLAlchemy wraps
    the driver's error (`.orig`) in an adapted one whose `__cause__` is asyncpg's."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:  # causes can form a cycle
            continue
        seen.add(id(e))
        if _unavailable_itself(e):
            return True
        todo += [getattr(e, "orig", None), e.__cause__, None if e.__suppress_context__ else e.__context__]
    return False


def _unavailable_itself(e: BaseException) -> bool:
    from sqlalchemy import exc as sa

    # OSError covers refused and reset connections, a missing socket, TLS and connect timeouts;
    # sa.TimeoutError is a pool with no connection to give in time.
    if isinstance(e, (OSError, asyncpg.PostgresConnectionError, sa.TimeoutError)):
        return True
    if isinstance(e, sa.DBAPIError) and e.connection_invalidated:
        return True
    # asyncpg's InterfaceError also covers bad arguments (DataError): only a closed connection counts.
    if isinstance(e, asyncpg.InterfaceError) and any(m in str(e) for m in _CLOSED):
        return True
    state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    return isinstance(state, str) and state.startswith(_UNAVAILABLE_STATES)
