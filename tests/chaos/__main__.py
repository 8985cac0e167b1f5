"""`make chaos`: real faults under bounded load, then nothing may be lost or applied twice.

Each scenario starts a fresh stack (its own PostgreSQL, broker and service processes, on a fast
simulated clock), has `servicetrail demo`'s desk play two busy days through the public APIs
(tests/chaos/load.py), injects its faults at random moments while it does, waits for the system
to settle and checks every consumer and read model against the event stores (tests/chaos/check.py).
It prints a table and exits non-zero on any loss or duplicate. `--short` runs the quick version `make test` includes.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import shutil
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Awaitable, Callable

import asyncpg
from rich.console import Console
from rich.table import Table

from shared.db import plain_url
from shared.eventstore import EventStore
from shared.runtime.embedded import free_port
from shared.runtime.launcher import use_development_keys
from tests.chaos.check import STORES, Verdict, settled, verify
from tests.chaos.load import Load, clock_env, week_clock
from tests.chaos.proxy import FaultyProxy
from tests.chaos.stack import ROOT, SERVICES, ChaosStack, kill
from tests.support.kafka import produce

console = Console()
Fault = Callable[[ChaosStack], Awaitable[int]]  # injects its faults; returns how many


async def kill_services(stack: ChaosStack, rounds: int) -> int:
    """SIGKILL each service process `rounds` times at random moments, restarting it each time."""
    for _ in range(rounds):
        for service in random.sample(SERVICES, len(SERVICES)):
            await asyncio.sleep(random.uniform(0.3, 1.5))
            await asyncio.to_thread(stack.kill_service, service)
            stack.start_service(service)
    return rounds * len(SERVICES)


async def restart_postgres(stack: ChaosStack, mode: str) -> int:
    await asyncio.sleep(random.uniform(1, 3))
    await asyncio.to_thread(stack.restart_postgres, mode, 5.0)
    return 1


async def restart_broker(stack: ChaosStack) -> int:
    await asyncio.sleep(random.uniform(1, 3))
    await asyncio.to_thread(stack.restart_broker, 1.0)
    return 1


async def stop_a_leader(stack: ChaosStack) -> int:
    """SIGSTOP intake's API process while a second `work` process stands by, then SIGCONT it."""
    stack.start_worker("intake")
    await asyncio.sleep(random.uniform(2, 4))
    pid = stack.processes["intake"].pid
    os.kill(pid, signal.SIGSTOP)
    await asyncio.sleep(12)  # beyond the 5 s lease the stack runs with
    os.kill(pid, signal.SIGCONT)
    return 1


async def poison_and_forge(stack: ChaosStack) -> int:
    """On each topic: a record that is not an event, and a copy of a real event under a new id
    claiming stream version 99. The first must go to dead letters, neither may block anything."""
    await asyncio.sleep(random.uniform(2, 4))
    conn = await asyncpg.connect(plain_url(stack.env["DATABASE_URL"]))
    try:
        for service in STORES:
            store = EventStore(service, service)
            events = await store.read_all(conn, 0, 50)
            for _ in range(300):  # feedback records nothing until the load's first work is resolved
                if events:
                    break
                await asyncio.sleep(0.1)
                events = await store.read_all(conn, 0, 50)
            forged = [dataclasses.replace(random.choice(events), id=str(uuid.uuid4()), stream_version=99)]
            junk = [(forged[0].subject.encode(), b"\x00not an event")]
            await produce(stack.broker.bootstrap, f"{service}.events", forged, raw=junk)
    finally:
        await conn.close()
    return 2 * len(STORES)


async def replicas_rebalancing(stack: ChaosStack) -> int:
    """A second (`work`) process of dispatch and of analytics in each group, each SIGKILLed and
    restarted 5 times at random moments: partitions move between members (rebalances) and leaders
    change, mid-stream."""
    workers = {"dispatch": stack.start_worker("dispatch"), "analytics": stack.start_worker("analytics")}
    for _ in range(5):
        for service in random.sample(list(workers), len(workers)):
            await asyncio.sleep(random.uniform(1, 2.5))
            await asyncio.to_thread(kill, workers[service])
            workers[service] = stack.start_worker(service)
    return 5 * len(workers)


async def flaky_network(stack: ChaosStack) -> int:
    """Through the proxy: 300 ms latency, connections reset, then a 3 s black hole and resets."""
    proxy = stack.proxy
    assert proxy is not None
    faults = 0
    for _ in range(3):
        await asyncio.sleep(random.uniform(1, 2))
        proxy.latency = 0.3
        await asyncio.sleep(2)
        proxy.latency = 0.0
        proxy.reset_all()
        await asyncio.sleep(random.uniform(1, 2))
        proxy.blackhole = True
        await asyncio.sleep(3)
        proxy.blackhole = False
        proxy.reset_all()
        faults += 3
    return faults


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Fault
    requests: int  # about this many arrive in the simulated days
    seconds: float = 30.0  # real seconds the simulated days take (the faults strike within them)
    proxy: bool = False  # clients reach the broker through a FaultyProxy


FULL = [
    Scenario("SIGKILL each service 5x", lambda s: kill_services(s, 5), 200, 40),
    Scenario("PostgreSQL stop -m fast, 5 s", lambda s: restart_postgres(s, "fast"), 120, 25),
    Scenario("PostgreSQL stop -m immediate, 5 s", lambda s: restart_postgres(s, "immediate"), 120, 25),
    Scenario("broker killed, restarted empty", restart_broker, 120, 25),
    Scenario("SIGSTOP/SIGCONT of a leader", stop_a_leader, 120, 30),
    Scenario("poison and forged records on each topic", poison_and_forge, 80, 20),
    Scenario("replicas of dispatch and analytics, rebalancing", replicas_rebalancing, 150, 30),
    Scenario("latency, resets, black hole to the broker", flaky_network, 150, 40, proxy=True),
]
SHORT = [Scenario("SIGKILL each service 1x", lambda s: kill_services(s, 1), 40, 20)]


@dataclass
class Outcome:
    scenario: str
    faults: int
    verdict: Verdict
    recovery_s: float
    requests: int = 0  # the desk's, acknowledged
    steps: int = 0  # what the desk did in all: submits, acknowledgements, starts, resolutions, surveys...


async def run(scenario: Scenario, settle_timeout: float = 180) -> Outcome:
    proxy_port = free_port() if scenario.proxy else None
    clock = week_clock(scenario.seconds)
    stack = ChaosStack(ROOT / "var" / f"chaos-{uuid.uuid4().hex[:8]}", proxy_port, clock_env(clock))
    if proxy_port is not None:
        stack.proxy = FaultyProxy(proxy_port, stack.broker.port)
        await stack.proxy.start()
    try:
        await asyncio.to_thread(stack.start)
        load = Load(stack.urls(), clock, scenario.requests)
        try:
            driving = asyncio.create_task(load.run())
            await load.begun()  # the faults strike while the desk works
            faults = await scenario.fault(stack)
            recovery = await probe(load, stack.env["DATABASE_URL"])
            await driving
        finally:
            await load.close()
        give_up = time.monotonic() + settle_timeout
        await asyncio.to_thread(stack.await_ready)
        while not await settled(stack.env["DATABASE_URL"], load.submitted) and time.monotonic() < give_up:
            await asyncio.sleep(0.5)
        verdict = await verify(stack.env["DATABASE_URL"], load.submitted)
        if load.refused:
            console.print(f"[yellow]{scenario.name}: {len(load.refused)} steps refused or failed, e.g. {load.refused[0]}")
    finally:
        await asyncio.to_thread(stack.stop)
        if stack.proxy is not None:
            await stack.proxy.stop()
    if not (verdict.lost_total or verdict.duplicated_total or recovery == float("inf")):
        shutil.rmtree(stack.var_dir, ignore_errors=True)  # a clean run leaves nothing; a failed one its logs
    return Outcome(scenario.name, faults, verdict, recovery, len(load.submitted), sum(load.desk.tally.counts.values()))


async def probe(load: Load, database_url: str, timeout: float = 180) -> float:
    """Seconds from the end of the faults until a request submitted then has its job in dispatch
    and is in analytics' archive: the whole path works again."""
    started = time.monotonic()
    request_id = await load.submit()
    if request_id is None:
        return float("inf")
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        while time.monotonic() - started < timeout:
            if await conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM dispatch.events WHERE subject = $1 AND type LIKE '%.JobOpened.v1') "
                    "AND EXISTS (SELECT 1 FROM analytics.events WHERE subject = $1)", request_id):
                return time.monotonic() - started
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return float("inf")


def report(outcomes: list[Outcome]) -> Table:
    table = Table(title="chaos")
    for column in ("scenario", "requests", "desk steps", "events", "faults", "lost", "duplicated",
                   "end-to-end again after s"):
        table.add_column(column)
    for o in outcomes:
        lost = ", ".join(f"{k} {v}" for k, v in o.verdict.lost.items() if v) or "0"
        dup = ", ".join(f"{k} {v}" for k, v in o.verdict.duplicated.items() if v) or "0"
        table.add_row(o.scenario, str(o.requests), str(o.steps), str(o.verdict.events), str(o.faults), lost, dup,
                      f"{o.recovery_s:.1f}")
    return table


async def main(scenarios: list[Scenario]) -> list[Outcome]:
    outcomes = []
    for scenario in scenarios:
        console.print(f"running: {scenario.name}")
        outcomes.append(await run(scenario))
    return outcomes


if __name__ == "__main__":
    use_development_keys()  # the chaos stacks are local: their processes use the development keys
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--only", help="run the scenarios whose name contains this")
    args = parser.parse_args()
    chosen = [s for s in (SHORT if args.short else FULL) if not args.only or args.only in s.name]
    results = asyncio.run(main(chosen))
    console.print(report(results))
    sys.exit(1 if any(o.verdict.lost_total or o.verdict.duplicated_total or o.recovery_s == float("inf")
                       for o in results) else 0)
