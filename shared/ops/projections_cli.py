"""`servicetrail projections list|rebuild`: each projection's position, and a read model built anew
from the service's own events beside the live one, switched in once caught up."""
from __future__ import annotations

import getpass
import os
import time
from typing import Any

import typer

from shared.ops.facts_rebuild import rebuild_facts
from shared.ops.rebuild_runs import RebuildOutcome, RebuildRuns, RebuildUnderWay, read_models
from shared.ops.terminal import JSON, console, emit, fail, num, print_table, rebuild_bar, run, services_named, stores_of

projections_app = typer.Typer(no_args_is_help=True, help="Read models: positions, and a rebuild from the events")


@projections_app.command("list")
def projections_list(service: str = typer.Argument(None, help="default: every service"), as_json: bool = JSON) -> None:
    """Each read model's position against its service's event store: the projections', and the
    tables written by the commands themselves (named `tables`)."""
    from shared.http.serving import service_app

    rows = stores_of(services_named(service))
    listed = [{"service": r.service, "projection": name, "position": position, "store_head": r.store_head,
               "behind": max((r.store_head or 0) - position, 0)} for r in rows for name, position in r.projections.items()]
    # Tables the commands write in their own transactions are always at the head of their store.
    listed += [{"service": r.service, "projection": t.name, "tables": list(t.tables), "position": r.store_head,
                "store_head": r.store_head, "behind": 0}
               for r in rows for t in service_app(r.service).state.runtime.working_tables]
    if as_json:
        return emit(listed)
    print_table("projections", ("service", "projection", "position", "head", "behind"), [
        (p["service"], p["projection"], str(p["position"]), num(p["store_head"]), str(p["behind"])) for p in listed])


@projections_app.command("rebuild")
def projections_rebuild(service: str = typer.Argument(...), name: str = typer.Argument(..., help="e.g. requests")) -> None:
    """Build a read model anew from the service's events beside the live one, and switch it in
    within one transaction once caught up (the service may keep running)."""
    from shared.http.serving import service_app  # the service's own wiring: its projections, pools

    services_named(service)
    app = service_app(service)
    runtime = app.state.runtime
    if service == "analytics":
        return _rebuild_facts(app, name)
    found = read_models(runtime)
    if (chosen := found.get(name) or found.get(name.removeprefix("projection:"))) is None:
        raise fail(f"{service} has no read model {name!r} to rebuild (it has: {', '.join(found) or 'none'})", 1)
    (target, working), schema = chosen, runtime.settings.schema_name
    runs = RebuildRuns(runtime.db, runtime.settings.ops_schema, runtime.clock)

    async def go() -> RebuildOutcome:
        try:
            with rebuild_bar() as bar:
                task, began = bar.add_task(f"{service}/{target.name}", total=None, rate=0.0), time.perf_counter()

                def shown(n: int, total: int) -> None:
                    bar.update(task, completed=n, total=total, rate=n / max(time.perf_counter() - began, 1e-9))
                return await runs.run(service, schema, runtime.store, target, working, _operator(), "cli", shown)
        except RebuildUnderWay as exc:
            raise fail(str(exc), 1) from None
        finally:
            await runtime.close_pools()

    outcome = run(go)
    done = outcome.rebuilt
    console.print(f"{service}/{target.name} ({', '.join(target.tables)}): rebuilt from {done.events:,} events "
                  f"in {done.seconds:.1f} s ({done.events_per_second:,.0f} events/s), switched in at position "
                  f"{done.position}; checksum {done.now}" + _compared(outcome), highlight=False)


def _compared(outcome: RebuildOutcome) -> str:
    if outcome.differed:
        return f" (was {outcome.rebuilt.was}: the live read model differed)"
    if outcome.rebuilt.was is None:
        return " (the live projection stood at another position: not compared)"
    return ""


def _operator() -> str:
    """Who runs the command, for the record."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def _rebuild_facts(app: Any, name: str) -> None:
    if name != "facts":
        raise fail(f"analytics has no read model {name!r} to rebuild (it has: facts)", 1)
    runtime = app.state.runtime

    async def go() -> tuple[int, dict[str, Any], dict[str, Any] | None]:
        try:
            return await rebuild_facts(app.state.read_models, _operator())
        finally:
            await runtime.close_pools()

    version, now, was = run(go)
    if was is None or was["position"] != now["position"]:
        compared = " (the replaced version is gone or stood at another position: not compared)"
    else:
        compared = "" if was["checksum"] == now["checksum"] else f" (was {was['checksum']}: the replaced version differed)"
    console.print(f"analytics/facts: version {version} is live at position {now['position']}; checksum "
                  f"{now['checksum']}{compared}", highlight=False)
