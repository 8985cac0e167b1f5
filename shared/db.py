"""The async engine (SQLAlchemy 2 over asyncpg). Hot paths use `exec_driver_sql` with `$n` params."""
from __future__ import annotations

import re
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def async_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def plain_url(url: str) -> str:
    """The libpq form asyncpg.connect accepts."""
    return "postgresql://" + async_url(url)[len("postgresql+asyncpg://"):]


def make_engine(url: str, pool_size: int = 10, **kwargs: Any) -> AsyncEngine:
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False, **kwargs
    )


def ident(name: str) -> str:
    """A schema or table name checked before it is put into SQL text."""
    if not _IDENT.match(name):
        raise ValueError(f"unsafe SQL identifier: {name!r}")
    return name


async def fetch(conn: AsyncConnection, sql: str, *params: Any) -> list[Any]:
    result = await conn.exec_driver_sql(sql, params)
    return list(result.all()) if result.returns_rows else []


async def execute(conn: AsyncConnection, sql: str, *params: Any) -> int:
    result = await conn.exec_driver_sql(sql, params)
    return result.rowcount


def from_jsonb(value: Any) -> Any:
    """jsonb as Python: SQLAlchemy's asyncpg codec decodes it, a bare connection gives text."""
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value
