"""`servicetrail`: mint tokens, serve one service, run everything locally, operate relays."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from shared.auth import Role, TokenService
from shared.db import Database
from shared.demo.cli import demo
from shared.keys import MissingSecret
from shared.ops.cli import dlq_app, events_app, lag, projections_app, relay_status, request_app, status
from shared.settings import SERVICE_PORTS, ServiceSettings, Settings
from shared.shredding.keyring import master_key

app = typer.Typer(no_args_is_help=True, help="ServiceTrail command line")
relay_app = typer.Typer(no_args_is_help=True, help="Operate a service's outbox relay")
app.add_typer(relay_app, name="relay")
app.add_typer(dlq_app, name="dlq")
app.add_typer(events_app, name="events")
app.command("lag")(lag)
app.command("status")(status)
app.add_typer(request_app, name="request")
app.add_typer(projections_app, name="projections")
relay_app.command("status")(relay_status)
app.command("demo")(demo)
console = Console()

SERVICES = SERVICE_PORTS


def _service(name: str) -> str:
    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; one of {', '.join(SERVICES)}")
    return name


def _refuse(exc: MissingSecret) -> typer.Exit:
    """A process without its keys stops before serving, with one line saying which key."""
    typer.echo(f"servicetrail: {exc}", err=True)
    return typer.Exit(2)


def _keys_or_refuse(service: str) -> None:
    """Check the keys a service needs before starting anything (workers would each fail later)."""
    settings = ServiceSettings(service=service)
    try:
        TokenService(settings)
        if service == "feedback":
            from services.feedback.bootstrap import survey_link_secret

            survey_link_secret(settings)
        master_key(settings)
    except MissingSecret as exc:
        raise _refuse(exc) from None


@app.command()
def token(
    role: Role = typer.Option(..., help="role claim"),
    subject: str = typer.Option(None, help="subject (user or customer id); default: the role name"),
    ttl_hours: float = typer.Option(8.0, help="hours until it expires"),
    dev: bool = typer.Option(False, "--dev", help="sign with the development key (for `make run`'s services)"),
) -> None:
    """Mint a bearer token for local use (key from JWT_SECRET, or --dev)."""
    try:
        tokens = TokenService(Settings(dev_secrets=True) if dev else Settings())
        print(tokens.mint(role, subject or f"local-{role.value}", timedelta(hours=ttl_hours)))
    except MissingSecret as exc:
        raise _refuse(exc) from None


@app.command()
def serve(
    service: str = typer.Argument(..., callback=_service),
    port: int = typer.Option(None, help="default: the contract's port for the service"),
    host: str = typer.Option("127.0.0.1"),
    workers: int = typer.Option(None, min=1, help="processes sharing the port; default: HTTP_WORKERS or 1"),
) -> None:
    """Serve one service (DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS must be set, and JWT_SECRET)."""
    from shared.http import serving

    _keys_or_refuse(service)
    serving.serve(service, host, port or SERVICES[service], workers or Settings().http_workers)


@app.command()
def work(service: str = typer.Argument(..., callback=_service)) -> None:
    """Run a service's relay, projections and consumers without HTTP (pair with BACKGROUND_WORK=false)."""
    import signal

    from shared.http.serving import service_app

    _keys_or_refuse(service)
    runtime = service_app(service, background_work=True).state.runtime

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)  # type: ignore[union-attr]
        try:
            await runtime.work()
        except asyncio.CancelledError:
            pass

    asyncio.run(main())


@relay_app.command("republish")
def republish(
    service: str = typer.Argument(..., callback=_service),
    from_position: int = typer.Option(0, "--from", help="publish every event after this global position"),
) -> None:
    """Rewind a relay so it publishes again (e.g. to a broker that restarted empty)."""
    from shared.checkpoint import Checkpoint

    async def rewind() -> None:
        settings = ServiceSettings(service=service)
        if not settings.database_url:
            raise typer.BadParameter("DATABASE_URL must point at the service's database")
        db = Database(settings.database_url, 1)
        await Checkpoint(settings.schema_name, "relay").rewind(db, from_position)
        await db.dispose()

    asyncio.run(rewind())
    console.print(f"{service}: the relay will publish again from position {from_position}")


@app.command()
def run(
    var_dir: Path = typer.Option(Path("var"), help="where the embedded PostgreSQL keeps its data"),
    broker_port: int = typer.Option(19092, help="port of the embedded broker"),
) -> None:
    """Start PostgreSQL, a broker and the four services; Ctrl-C stops everything."""
    from shared.runtime.launcher import LocalStack, use_development_keys

    use_development_keys()  # local development: the keys not given are the development ones
    with LocalStack(var_dir.resolve(), broker_port) as stack:
        stack.start_services(SERVICES)
        _print_welcome(stack.urls())
        stack.wait()


def _print_welcome(urls: dict[str, str]) -> None:
    table = Table(title="ServiceTrail is running")
    table.add_column("service")
    table.add_column("url")
    for name, url in urls.items():
        table.add_row(name, url)
    console.print(table)
    tokens = TokenService(Settings())
    for role in Role:
        console.print(f"[bold]{role.value:>10}[/] token: {tokens.mint(role, f'local-{role.value}')}", soft_wrap=True)
    console.print("Ctrl-C stops everything.")


if __name__ == "__main__":
    app()
