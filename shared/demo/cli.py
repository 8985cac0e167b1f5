"""`servicetrail demo`: a simulated week at a service desk, played through the public APIs of a
stack started for it, with time running fast on every service's clock (CLOCK_* settings)."""
from __future__ import annotations

import asyncio
import json
import random
import shutil
import time
from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from datetime import time as clock_time
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from shared.auth import Role, TokenService
from shared.clock import ScaledClock
from shared.demo.desk import Desk, WeekOver
from shared.demo.summary import Summary, summarise
from shared.demo.week import plan, roster
from shared.runtime.embedded import free_port
from shared.settings import SERVICE_PORTS, Settings

console = Console()
MARKER = ".servicetrail-demo"
WARM_UP = timedelta(hours=12)  # simulated time the services run before Monday: start-up, staffing
STORY_GRACE_SECONDS = 120.0  # real seconds for the stories' last calls once the week is over


def demo(
    days: int = typer.Option(7, min=1, max=28, help="simulated days, from a Monday"),
    minutes: float = typer.Option(4.0, min=0.2, help="real minutes the simulated days take"),
    per_day: float = typer.Option(50.0, min=1, max=2000, help="requests on an ordinary weekday"),
    seed: int = typer.Option(7, help="the same seed plays the same week"),
    var_dir: Path = typer.Option(Path("var/demo"), help="the demo's own PostgreSQL data, wiped first"),
    broker_port: int = typer.Option(19093, help="port of the demo's embedded broker"),
    free_ports: bool = typer.Option(False, help="serve on free ports, not the usual 8001-8004"),
    keep: bool = typer.Option(True, help="keep serving after the summary, until Ctrl-C"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Play a simulated week (requests, shifts, declines, escalations, reopenings, complaints,
    praise, surveys) through the public APIs, then print what analytics reports about it."""
    from shared.runtime.launcher import LocalStack, use_development_keys

    use_development_keys()
    var_dir = _fresh(var_dir.resolve())
    today = datetime.now(timezone.utc).date()
    monday = datetime.combine(today - timedelta(days=today.weekday() + 7), clock_time(0), timezone.utc)
    end = monday + timedelta(days=days)
    rate = days * 86_400 / (minutes * 60)
    ports = {name: free_port() for name in SERVICE_PORTS} if free_ports else dict(SERVICE_PORTS)
    with LocalStack(var_dir, broker_port) as stack:
        # Anchored once the database and broker are up: the warm-up is left for the services'
        # start and the staffing.
        clock = ScaledClock(monday - WARM_UP, rate, time.time(), end)
        stack.env.update({"CLOCK_START": clock.start.isoformat(), "CLOCK_RATE": repr(rate),
                          "CLOCK_ANCHOR": repr(clock.anchor), "CLOCK_END": end.isoformat()})
        stack.start_services(ports)
        outcome = asyncio.run(_play(stack.urls(), clock, monday, end, per_day, seed))
        _report(outcome, stack.urls()["analytics"], as_json)
        if keep:
            console.print("The week is over; its time stands still. Ctrl-C stops everything.")
            stack.wait()


def _fresh(var_dir: Path) -> Path:
    """The demo's directory, emptied: each demo plays its week on empty stores."""
    if var_dir.exists() and any(var_dir.iterdir()) and not (var_dir / MARKER).exists():
        raise typer.BadParameter(f"{var_dir} holds something else than a demo's data; give another --var-dir")
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    (var_dir / MARKER).touch()
    return var_dir


async def _play(urls: dict[str, str], clock: ScaledClock, monday: datetime, end: datetime, per_day: float,
                seed: int) -> dict:
    arrivals = plan(monday, (end - monday).days, per_day, random.Random(seed))
    technicians = roster("UTC")
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        desk = Desk(urls, clock, technicians, http)
        await desk.staff(technicians)
        stories = [asyncio.create_task(desk.play(a)) for a in arrivals]
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[now]}"),
                      TextColumn("{task.fields[counts]}"), TimeRemainingColumn(), console=console,
                      transient=False) as progress:
            task = progress.add_task("simulated week", total=(end - monday).total_seconds(), now="", counts="")
            while clock.now() < end and not all(s.done() for s in stories):
                now = clock.now()
                counts = desk.tally.counts
                progress.update(task, completed=max(0.0, (now - monday).total_seconds()),
                                now=now.strftime("%a %H:%M"),
                                counts=f"{counts['submitted']} requests, {counts['resolved']} resolved, "
                                       f"{counts['surveys']} surveys")
                await asyncio.sleep(0.25)
            progress.update(task, completed=(end - monday).total_seconds())
        # Every story ends at its next step after the week (WeekOver), never in the middle of a
        # call, so that the desk counts exactly what the services recorded. What is still under
        # way stays open: the backlog.
        _, late = await asyncio.wait(stories, timeout=STORY_GRACE_SECONDS)
        for story in late:
            story.cancel()
        failed = [r for r in await asyncio.gather(*stories, return_exceptions=True)
                  if isinstance(r, BaseException) and not isinstance(r, WeekOver)]
    summary = await summarise(urls["analytics"], monday, end, desk.tally.counts["submitted"], desk.tally.counts["surveys"])
    return {"week": {"from": monday.isoformat(), "to": end.isoformat(), "planned": len(arrivals)},
            "desk": dict(desk.tally.counts), "unexpected": desk.tally.unexpected[:20],
            "failed": [repr(f)[:200] for f in failed[:20]], "summary": summary}


def _report(outcome: dict, analytics: str, as_json: bool) -> None:
    summary: Summary = outcome["summary"]
    token = TokenService(Settings()).mint(Role.analyst, "demo-analyst")
    url = f"{analytics}/?from={outcome['week']['from'][:10]}&to={outcome['week']['to'][:10]}#token={token}"
    if as_json:
        print(json.dumps({**outcome, "summary": asdict(summary), "dashboard": url}, default=str))
        return
    table = Table(title=f"The week of {outcome['week']['from'][:10]}, as analytics reports it")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in summary.rows():
        table.add_row(name, value)
    console.print(table)
    if not summary.complete:
        console.print("[yellow]analytics had not yet counted everything the desk did: these figures fall short")
    desk = outcome["desk"]
    console.print("The desk: " + ", ".join(f"{n} {k}" for k, n in sorted(desk.items())))
    for line in outcome["unexpected"] + outcome["failed"]:
        console.print(f"[yellow]unexpected: {line}")
    console.print(f"Dashboard: {url}", soft_wrap=True)
