"""`servicetrail projections list|rebuild`: each projection's position, and a read model built anew
from the service's own events beside the live one, switched in once caught up."""
from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shared.ops.rebuild import Rebuilt, checksum, rebuild
from shared.ops.terminal import JSON, console, emit, fail, num, print_table, run, services_named, stores_of

projections_app = typer.Typer(no_args_is_help=True, help="Read models: positions, and a rebuild from the events")


@projections_app.command("list")
def projections_list(service: str = typer.Argument(None, help="default: every service"), as_json: bool = JSON) -> None:
    """Each projection's position against its service's event store."""
    rows = stores_of(services_named(service))
    listed = [{"service": r.service, "projection": name, "position": position, "store_head": r.store_head,
               "behind": max((r.store_head or 0) - position, 0)} for r in rows for name, position in r.projections.items()]
    if as_json:
        return emit(listed)
    print_table("projections", ("service", "projection", "position", "head", "behind"), [
        (p["service"], p["projection"], str(p["position"]), num(p["store_head"]), str(p["behind"])) for p in listed])


@projections_app.command("rebuild")
def projections_rebuild(service: str = typer.Argument(...), name: str = typer.Argument(..., help="e.g. requests")) -> None:
    """Build a projection's read model anew from the service's events beside the live one, and
    switch it in within one transaction once caught up (the service may keep running)."""
    from shared.http.serving import service_app  # the service's own wiring: its projections, pools

    services_named(service)
    runtime = service_app(service).state.runtime
    found = {p.name: p for p in runtime.projections}
    projection = found.get(name) or found.get(name.removeprefix("projection:"))
    if projection is None or not hasattr(projection, "on_schema"):
        rebuildable = ", ".join(n for n, p in found.items() if hasattr(p, "on_schema")) or "none"
        raise fail(f"{service} has no projection {name!r} to rebuild here (it has: {rebuildable})", 1)
    schema = runtime.settings.schema_name

    async def go() -> tuple[Rebuilt, str, str]:
        try:
            async with runtime.db.connect() as conn:
                before = [await checksum(conn, schema, t) for t in projection.tables]
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[rate]:>9,.0f} events/s"), TimeRemainingColumn(),
                          console=console, transient=True) as bar:
                task, began = bar.add_task(f"{service}/{projection.name}", total=None, rate=0.0), time.perf_counter()
                done = await rebuild(runtime.db, runtime.store, schema, projection, lambda n, total: bar.update(
                    task, completed=n, total=total, rate=n / max(time.perf_counter() - began, 1e-9)))
            async with runtime.db.connect() as conn:
                after = [await checksum(conn, schema, t) for t in projection.tables]
            return done, ",".join(before), ",".join(after)
        finally:
            await runtime.db.dispose()

    done, before, after = run(go)
    console.print(f"{service}/{projection.name}: rebuilt from {done.events:,} events in {done.seconds:.1f} s "
                  f"({done.events_per_second:,.0f} events/s), switched in at position {done.position}; "
                  f"checksum {after}" + ("" if before == after else f" (was {before}: the live read model differed)"),
                  highlight=False)
