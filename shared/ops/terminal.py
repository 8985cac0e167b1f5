"""What every `servicetrail` operator command shares: one line and a non-zero exit for a failure
(1 for what the operator asked: no such dead letter, one that cannot be retried; 2 for what is down
or unset), never a traceback; tables cut to the terminal; JSON for machines; the deployment's
database and the services' schemas."""
from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any, Awaitable, Callable, TypeVar

import orjson
import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from shared.db import Database, is_unavailable
from shared.errors import DomainError
from shared.ops.status import ServiceStatus, probe_store
from shared.settings import SERVICE_PORTS, ServiceSettings, Settings

console = Console(soft_wrap=True)
T = TypeVar("T")
JSON = typer.Option(False, "--json", help="one JSON document, for machines")


def run(work: Callable[[], Awaitable[T]]) -> T:
    """`work()` to its end, or one line saying why not and a non-zero exit."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # its retries would bury the one line
    try:
        return asyncio.run(work())
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except DomainError as exc:
        raise fail(str(exc), 1) from None
    except KafkaError as exc:
        raise fail(f"the broker at {Settings().kafka_bootstrap_servers} cannot be used: {exc!r}", 2) from None
    except RuntimeError as exc:  # a setting missing (shared.kafka.bootstrap)
        raise fail(str(exc), 2) from None
    except Exception as exc:
        if is_unavailable(exc) or isinstance(exc, OSError):
            raise fail(f"the database cannot be reached: {exc!r}", 2) from None
        raise


def fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"servicetrail: {message}", err=True)
    return typer.Exit(code)


def print_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Every column but the last as wide as its widest cell; the last (an error) cut to what is left."""
    table = Table(title=title)
    widths = [max([len(column), *(len(r[i]) for r in rows)]) for i, column in enumerate(columns)]
    left = max(console.width - sum(widths[:-1]) - 3 * len(columns) - 1, len(columns[-1]))
    for column in columns:
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row[:-1], row[-1] if len(row[-1]) <= left else row[-1][: left - 1] + "…")
    console.print(table)


def emit(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


def schemas() -> dict[str, str]:
    return {name: ServiceSettings(service=name).schema_name for name in SERVICE_PORTS}


async def on_database(use: Callable[[Database], Awaitable[T]],
                      kept: str = "the services' event stores are read there") -> T:
    """`use(db)` on DATABASE_URL (one connection), closed after."""
    settings = Settings()
    if not settings.database_url:
        raise RuntimeError(f"DATABASE_URL is not set: {kept}")
    db = Database(settings.database_url, 1, "servicetrail-ops")
    try:
        return await use(db)
    finally:
        await db.dispose()


def stores_of(names: list[str]) -> list[ServiceStatus]:
    """Each named service's event store: its head, relay and projection positions."""
    by_service = schemas()

    async def read(db: Database) -> list[ServiceStatus]:
        rows = [ServiceStatus(name, "") for name in names]
        for row in rows:
            await probe_store(row, db, by_service[row.service])
        return rows

    return run(lambda: on_database(read))


def services_named(service: str | None) -> list[str]:
    if service is None:
        return list(SERVICE_PORTS)
    if service not in SERVICE_PORTS:
        raise fail(f"unknown service {service!r}; one of {', '.join(SERVICE_PORTS)}", 2)
    return [service]


def num(value: int | None) -> str:
    return "?" if value is None else str(value)


def rebuild_bar() -> Progress:
    """A rebuild's progress: events folded of the store's, events/s (field `rate`), time left."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]:>9,.0f} events/s"), TimeRemainingColumn(),
                    console=console, transient=True)
