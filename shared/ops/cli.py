"""`servicetrail status|lag|events tail|request history|relay status`, and the command groups of
`shared.ops.dlq_cli` and `shared.ops.projections_cli`: read on KAFKA_BOOTSTRAP_SERVERS and
DATABASE_URL, as `shared.ops.terminal` says."""
from __future__ import annotations

import os

import orjson
import typer

from shared.ops.dlq_cli import dlq_app
from shared.ops.history import request_history
from shared.ops.lag import consumer_lag
from shared.ops.projections_cli import projections_app
from shared.ops.reader import TopicReader, from_beginning, last
from shared.ops.status import ServiceStatus, deployment_status
from shared.ops.tail import Seen
from shared.ops.terminal import JSON, emit, fail, num, on_database, print_table, run, schemas, services_named, stores_of
from shared.settings import SERVICE_PORTS, ServiceSettings, Settings

events_app = typer.Typer(no_args_is_help=True, help="Read the events on the topics")
request_app = typer.Typer(no_args_is_help=True, help="One request across the services")


def lag(group: str = typer.Option(None, "--group"), as_json: bool = JSON) -> None:
    """Every consumer group's lag per partition: committed offset against the high watermark."""
    rows = run(lambda: consumer_lag(Settings(), group))
    if as_json:
        return emit([{"group": r.group, "topic": r.topic, "partition": r.partition, "committed": r.committed,
                       "end": r.end, "lag": r.lag} for r in rows])
    print_table(f"consumer lag, {sum(r.lag for r in rows)} records behind in all",
                 ("group", "topic", "partition", "committed", "end", "lag"),
                 [(r.group, r.topic, str(r.partition), "-" if r.committed is None else str(r.committed),
                   str(r.end), str(r.lag)) for r in rows])


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
        emit([r.as_json() for r in rows])
    else:
        _print_status(rows)
    if any(r.ready != "ready" for r in rows):
        raise typer.Exit(1)


def _print_status(rows: list[ServiceStatus]) -> None:
    print_table("ServiceTrail status", ("service", "health", "ready", "version", "head", "relay behind",
                                         "projections", "lag", "dlq", "why not ready"), [(
        r.service, r.health, r.ready, r.version or "?", num(r.store_head),
        "-" if r.relay is None and r.store_head is not None else num(r.relay_behind),
        " ".join(f"{name}@{position}" for name, position in r.projections.items()) or "-", num(r.lag),
        num(r.dead_letters), "; ".join(f"{k}: {v}" for k, v in r.reasons.items())) for r in rows])


def relay_status(service: str = typer.Argument(None, help="default: every service"), as_json: bool = JSON) -> None:
    """Each relay's position against its event store's head: how much is recorded and not yet sent."""
    rows = stores_of(services_named(service))
    if as_json:
        return emit([{"service": r.service, "store_head": r.store_head, "relay": r.relay,
                       "behind": r.relay_behind, "problem": r.reasons.get("store")} for r in rows])
    print_table("relays", ("service", "head", "relay", "behind", "problem"), [
        (r.service, num(r.store_head), "-" if r.relay is None else str(r.relay),
         "-" if r.relay is None else num(r.relay_behind), r.reasons.get("store", "")) for r in rows])


@request_app.command("history")
def history(request_id: str = typer.Argument(..., metavar="ID"), as_json: bool = JSON) -> None:
    """Everything every service recorded about one request, in time order: who acted and why."""
    steps = run(lambda: on_database(lambda db: request_history(db, schemas(), request_id)))
    if not steps:
        raise fail(f"no request {request_id!r}: no service recorded anything about it", 1)
    if as_json:
        return emit([step.as_json() for step in steps])
    print_table(f"request {request_id}", ("time", "service", "event", "v", "who", "why"), [
        (step.time.isoformat(timespec="seconds"), step.service, step.event, str(step.version), step.who or "",
         step.why or "") for step in steps])


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


__all__ = ["dlq_app", "events_app", "lag", "projections_app", "relay_status", "request_app", "status"]
