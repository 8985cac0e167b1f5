"""`servicetrail dlq|lag|events`: read on KAFKA_BOOTSTRAP_SERVERS (and DATABASE_URL, where dead
letters' outcomes are kept). A failure is one line on stderr and a non-zero exit: 1 for what the
operator asked (no such dead letter, one that cannot be retried), 2 for what is down or unset."""
from __future__ import annotations

import asyncio
import getpass
import logging
import os
import sys
from typing import Any, Awaitable, Callable, TypeVar

import orjson
import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from shared.db import Database, is_unavailable
from shared.errors import DomainError
from shared.ops.dlq import DeadLetter, DeadLetters
from shared.ops.history import request_history
from shared.ops.lag import consumer_lag
from shared.ops.reader import TopicReader, from_beginning, last
from shared.ops.status import ServiceStatus, deployment_status, probe_store
from shared.ops.tail import Seen, hidden
from shared.settings import SERVICE_PORTS, ServiceSettings, Settings

dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: list, show, retry, discard")
events_app = typer.Typer(no_args_is_help=True, help="Read the events on the topics")
request_app = typer.Typer(no_args_is_help=True, help="One request across the services")
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
        raise _fail(str(exc), 1) from None
    except KafkaError as exc:
        raise _fail(f"the broker at {Settings().kafka_bootstrap_servers} cannot be used: {exc!r}", 2) from None
    except RuntimeError as exc:  # a setting missing (shared.kafka.bootstrap)
        raise _fail(str(exc), 2) from None
    except Exception as exc:
        if is_unavailable(exc) or isinstance(exc, OSError):
            raise _fail(f"the database cannot be reached: {exc!r}", 2) from None
        raise


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"servicetrail: {message}", err=True)
    return typer.Exit(code)


def _print_table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Every column but the last as wide as its widest cell; the last (an error) cut to what is left."""
    table = Table(title=title)
    widths = [max([len(column), *(len(r[i]) for r in rows)]) for i, column in enumerate(columns)]
    left = max(console.width - sum(widths[:-1]) - 3 * len(columns) - 1, len(columns[-1]))
    for column in columns:
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row[:-1], row[-1] if len(row[-1]) <= left else row[-1][: left - 1] + "…")
    console.print(table)


def _emit(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode() + "\n")


async def _dead_letters(use: Callable[[DeadLetters], Awaitable[T]]) -> T:
    settings = Settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set: what was done with each dead letter is kept there")
    db = Database(settings.database_url, 1, "servicetrail-ops")
    try:
        letters = DeadLetters(settings, db)
        await letters.prepare()
        return await use(letters)
    finally:
        await db.dispose()


def _summary(d: DeadLetter) -> dict[str, Any]:
    event = d.envelope()
    return {"id": d.id, "consumer": d.consumer, "from": f"{d.topic}/{d.origin_partition}@{d.origin_offset}",
            "event": getattr(event, "name", None), "subject": getattr(event, "subject", None),
            "event_id": getattr(event, "id", None), "attempts": d.attempts, "error": d.error,
            "dead_lettered_at": d.at.isoformat(), "status": d.status, "handled_by": d.handled_by,
            "handled_at": d.handled_at.isoformat() if d.handled_at else None, "reason": d.reason}


@dlq_app.command("list")
def dlq_list(
    consumer: str = typer.Option(None, "--consumer", help="one consumer's (its group name)"),
    all_: bool = typer.Option(False, "--all", help="retried and discarded ones too"),
    as_json: bool = JSON,
) -> None:
    """Dead letters still to be dealt with (every one with --all): where each came from and why."""
    letters = run(lambda: _dead_letters(lambda q: q.list(consumer, handled=all_)))
    rows = [_summary(d) for d in letters]
    if as_json:
        return _emit(rows)
    columns = ("id", "from", "event", "subject", "attempts", "dead-lettered", *(("status",) if all_ else ()), "error")
    _print_table(f"{len(rows)} dead letter{'s' * (len(rows) != 1)}{'' if all_ else ' pending'}", columns, [
        (r["id"], r["from"], r["event"] or "(not an event)", r["subject"] or "", str(r["attempts"]),
         r["dead_lettered_at"][:19], *((r["status"],) if all_ else ()), r["error"]) for r in rows])


@dlq_app.command("show")
def dlq_show(id_: str = typer.Argument(..., metavar="ID"), as_json: bool = JSON) -> None:
    """One dead letter whole: its origin, error, outcome, and the event (personal values sealed)."""
    letter = run(lambda: _dead_letters(lambda q: q.get(id_)))
    event = letter.envelope()
    shown = {**_summary(letter), "key": (letter.key or b"").decode(errors="replace"),
             "event": Seen(letter.topic, letter.origin_partition, letter.origin_offset, 0, event).as_json()}
    if not hasattr(event, "data"):
        shown["value"] = (letter.value or b"")[:2000].decode(errors="replace")
    if as_json:
        return _emit(shown)
    for name, value in shown.items():
        if name != "event" and value is not None:
            console.print(f"[bold]{name:>16}[/]  {value}", highlight=False)
    console.print_json(data=shown["event"], default=str)


@dlq_app.command("retry")
def dlq_retry(
    id_: str = typer.Argument(None, metavar="[ID]"),
    all_: bool = typer.Option(False, "--all", help="every pending one (of --consumer, if given)"),
    consumer: str = typer.Option(None, "--consumer"),
    by: str = typer.Option(getpass.getuser(), help="who retries (recorded)"),
) -> None:
    """Send dead letters back to the consumer that gave up on them; each applies once."""
    if (id_ is None) == (not all_):
        raise _fail("name one dead letter, or --all", 2)

    async def retry(q: DeadLetters) -> int:
        letters = await q.list(consumer) if all_ else [await q.get(id_)]
        refused = 0
        for letter in letters:
            try:
                sent = await q.retry(letter, by)
            except DomainError as exc:
                if not all_:
                    raise
                refused += 1
                console.print(f"{letter.id}: not retried: {exc}", highlight=False)
                continue
            console.print(f"{letter.id}: redriven to {letter.consumer} on {letter.topic}" if sent else
                          f"{letter.id}: already retried at {letter.handled_at} by {letter.handled_by}", highlight=False)
        if all_:
            console.print(f"{len(letters) - refused} retried, {refused} not", highlight=False)
        return refused

    if run(lambda: _dead_letters(retry)):
        raise typer.Exit(1)


@dlq_app.command("discard")
def dlq_discard(
    id_: str = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option(..., help="why it will never be applied (recorded)"),
    by: str = typer.Option(getpass.getuser(), help="who discards (recorded)"),
) -> None:
    """Mark a dead letter as dealt with, never to be applied."""

    async def discard(q: DeadLetters) -> tuple[DeadLetter, bool]:
        letter = await q.get(id_)
        return letter, await q.discard(letter, by, reason)

    letter, now = run(lambda: _dead_letters(discard))
    console.print(f"{letter.id}: discarded" if now else f"{letter.id}: already discarded at {letter.handled_at}",
                  highlight=False)


def lag(group: str = typer.Option(None, "--group"), as_json: bool = JSON) -> None:
    """Every consumer group's lag per partition: committed offset against the high watermark."""
    rows = run(lambda: consumer_lag(Settings(), group))
    if as_json:
        return _emit([{"group": r.group, "topic": r.topic, "partition": r.partition, "committed": r.committed,
                       "end": r.end, "lag": r.lag} for r in rows])
    _print_table(f"consumer lag, {sum(r.lag for r in rows)} records behind in all",
                 ("group", "topic", "partition", "committed", "end", "lag"),
                 [(r.group, r.topic, str(r.partition), str(r.committed), str(r.end), str(r.lag)) for r in rows])


def status(as_json: bool = JSON) -> None:
    """Every service at a glance: health, readiness and why not, version, relay and projections
    against the store's head, consumer lag, pending dead letters. URLs: <SERVICE>_URL, else the
    contract's ports on 127.0.0.1."""
    services = {name: os.environ.get(f"{name.upper()}_URL", f"http://127.0.0.1:{port}").rstrip("/")
                for name, port in SERVICE_PORTS.items()}
    configured = {name: ServiceSettings(service=name) for name in SERVICE_PORTS}
    rows = run(lambda: deployment_status(
        Settings(), services, {n: c.schema_name for n, c in configured.items()},
        {n: c.consumer_group_prefix + n for n, c in configured.items()}))
    if as_json:
        _emit([r.as_json() for r in rows])
    else:
        _print_status(rows)
    if any(r.ready != "ready" for r in rows):
        raise typer.Exit(1)


def _print_status(rows: list[ServiceStatus]) -> None:
    _print_table("ServiceTrail status", ("service", "health", "ready", "version", "head", "relay behind",
                                         "projections", "lag", "dlq", "why not ready"), [(
        r.service, r.health, r.ready, r.version or "?", _num(r.store_head),
        "-" if r.relay is None and r.store_head is not None else _num(r.relay_behind),
        " ".join(f"{name}@{position}" for name, position in r.projections.items()) or "-", _num(r.lag),
        _num(r.dead_letters), "; ".join(f"{k}: {v}" for k, v in r.reasons.items())) for r in rows])


def _schemas() -> dict[str, str]:
    return {name: ServiceSettings(service=name).schema_name for name in SERVICE_PORTS}


async def _on_database(use: Callable[[Database], Awaitable[T]]) -> T:
    settings = Settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set: the services' event stores are read there")
    db = Database(settings.database_url, 1, "servicetrail-ops")
    try:
        return await use(db)
    finally:
        await db.dispose()


def relay_status(service: str = typer.Argument(None, help="default: every service"), as_json: bool = JSON) -> None:
    """Each relay's position against its event store's head: how much is recorded and not yet sent."""
    names = [service] if service else list(SERVICE_PORTS)
    if service and service not in SERVICE_PORTS:
        raise _fail(f"unknown service {service!r}; one of {', '.join(SERVICE_PORTS)}", 2)
    schemas = _schemas()

    async def read(db: Database) -> list[ServiceStatus]:
        rows = [ServiceStatus(name, "") for name in names]
        for row in rows:
            await probe_store(row, db, schemas[row.service])
        return rows

    rows = run(lambda: _on_database(read))
    if as_json:
        return _emit([{"service": r.service, "store_head": r.store_head, "relay": r.relay,
                       "behind": r.relay_behind, "problem": r.reasons.get("store")} for r in rows])
    _print_table("relays", ("service", "head", "relay", "behind", "problem"), [
        (r.service, _num(r.store_head), "-" if r.relay is None else str(r.relay),
         "-" if r.relay is None else _num(r.relay_behind), r.reasons.get("store", "")) for r in rows])


@request_app.command("history")
def history(request_id: str = typer.Argument(..., metavar="ID"), as_json: bool = JSON) -> None:
    """Everything every service recorded about one request, in time order: who acted and why."""
    steps = run(lambda: _on_database(lambda db: request_history(db, _schemas(), request_id)))
    if not steps:
        raise _fail(f"no request {request_id!r}: no service recorded anything about it", 1)
    if as_json:
        return _emit([step.as_json() for step in steps])
    _print_table(f"request {request_id}", ("time", "service", "event", "v", "who", "why"), [
        (step.time.isoformat(timespec="seconds"), step.service, step.event, str(step.version), step.who or "",
         step.why or "") for step in steps])


def _num(value: int | None) -> str:
    return "?" if value is None else str(value)


@events_app.command("tail")
def tail(
    topic: list[str] = typer.Option(None, "--topic", help="default: every <service>.events topic"),
    type_: str = typer.Option(None, "--type", help="an event name (RequestReceived) or full type"),
    request: str = typer.Option(None, "--request", help="only this request's events"),
    from_beginning_: bool = typer.Option(False, "--from-beginning", help="every record, not the last few"),
    last_: int = typer.Option(10, "--last", min=0, help="records per partition to start with"),
    follow: bool = typer.Option(False, "--follow", "-f", help="keep reading as records arrive (Ctrl-C ends)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per line"),
) -> None:
    """Decoded events, one per line: time, name, subject, version, place, key fields."""

    async def read() -> None:
        async with TopicReader(Settings()) as reader:
            topics = topic or [t for t in await reader.topics() if t.endswith(".events")]
            start = from_beginning if from_beginning_ else last(last_)
            if follow:  # as they come, partitions interleaved as fetched
                async for record in reader.read(topics, start, follow=True):
                    show(Seen.of(record))
            else:  # what is there, in the order it reached the broker
                for seen in sorted([Seen.of(r) async for r in reader.read(topics, start)], key=lambda s: s.timestamp):
                    show(seen)

    def show(seen: Seen) -> None:
        if seen.matches(type_, request):
            print(orjson.dumps(seen.as_json()).decode() if as_json else seen.line(), flush=True)

    run(read)


__all__ = ["dlq_app", "events_app", "hidden", "lag", "relay_status", "request_app", "status"]
