"""One service process: its database, event store, outbox relay and consumers, started together."""
from __future__ import annotations

import asyncio
import gc
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Coroutine, Sequence

import structlog
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from shared import collector
from shared.aio import wait_or_timeout
from shared.auth import TokenService
from shared.broker_watch import BrokerWatch
from shared.checkpoint import Lease
from shared.clock import Clock, SystemClock, clock_from
from shared.consumer import ConsumerRunner, Handler, dead_letter_topic
from shared.contracts import Reactions, decoded
from shared.db import Database, HeldConnection
from shared.envelope import Envelope
from shared.eventstore import EventStore, GroupCommitAppender
from shared.follower import Follower
from shared.kafka import broker_reachable, ensure_topics, make_consumer, make_producer
from shared.migrations import migrate
from shared.ops.dlq_gauge import DeadLetterGauge
from shared.outbox import OutboxRelay
from shared.projector import Projection, ProjectionRunner
from shared.settings import ServiceSettings
from shared.shredding.keyring import key_ring

if TYPE_CHECKING:
    from shared.ops.rebuild_streams import StreamTables

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ConsumerSpec:
    name: str
    topics: tuple[str, ...]
    handler: Handler


class ServiceRuntime:
    """Owns the connections and background tasks of one service; the lifespan starts and stops it."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations: Path,
        clock: Clock | None = None,
        consumers: Sequence[ConsumerSpec] = (),
        publishes: bool = True,
    ) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set (make run starts an embedded PostgreSQL)")
        self.settings, self.migrations = settings, migrations
        self.clock = clock or clock_from(settings)
        # What is judged in real seconds even when business time is simulated (the demo's clock runs
        # thousands of times faster, then stands still): stalls, rate limits. A test's injected
        # clock moves both.
        self.real_clock = clock or SystemClock()
        self.consumers = list(consumers)
        self.projections: list[Projection] = []
        self.loops: list[Follower] = []  # a service's own background loops (schedulers, allocators)
        # Tables its commands write from aggregates' state, which `servicetrail projections rebuild`
        # can write anew from the streams (shared.ops.rebuild_streams.StreamTables).
        self.working_tables: list[StreamTables] = []
        self.publishes = publishes
        self.db = Database(settings.database_url, settings.db_pool_size, f"servicetrail-{settings.service}")
        self.store = EventStore(settings.schema_name, settings.service, Lease(settings.leader_lease_seconds),
                                settings.event_max_bytes)
        self.appender = GroupCommitAppender(self.db, self.store, settings.append_writers)
        self.tokens = TokenService(settings)
        self.keys = key_ring(settings, self.clock)
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self._followers: list[Follower] = []
        self._watched: list[Follower] = []  # the loops whose stalls readiness reports
        self._held: list[HeldConnection] = []
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._spawned: set[asyncio.Task[Any]] = set()
        self._running: list[Follower] = []  # every background loop started, woken to stop

    async def start(self) -> None:
        s = self.settings
        await migrate(self.db.engine, self.migrations, s.schema_name)
        await self.keys.prepare()
        await ensure_topics(s, self._topics() if self.publishes else self._topics()[1:])
        self.producer = make_producer(s, f"{s.service}-producer")
        await self.producer.start()
        await self.appender.start()
        self._stop.clear()
        self._tasks = await self._start_background() if s.background_work else []
        # Everything loaded so far (modules, schemas, pools) lives as long as the process: keep it out
        # of the collector's full passes, which otherwise grow with it and stall requests.
        gc.freeze()
        # A request, a relay batch and a consumer's fetch allocate containers by the thousand and
        # drop nearly all of them by reference counting; the default young threshold (700) runs a
        # collection many times in each, and promotes what is alive at that moment.
        gc.set_threshold(*collector.RELAXED)
        log.info("service started", service=s.service, schema=s.schema_name, background=s.background_work)

    def _topics(self) -> list[str]:
        """Every topic this service touches, created as configured: its own first, then what it
        consumes and its dead letters (a relay's broker watch recreates these after a loss)."""
        s = self.settings
        consumed = [s.topic_prefix + t for c in self.consumers for t in c.topics]
        dead_letters = [dead_letter_topic(s.consumer_group_prefix + c.name) for c in self.consumers]
        return [s.topic, *consumed, *dead_letters]

    async def _start_background(self) -> list[asyncio.Task[None]]:
        """Relay, projections and consumers: in the API process, or in a `servicetrail work` one."""
        tasks = [await self._start_relay()] if self.publishes else []
        tasks += [self._start_projection(p) for p in self.projections]
        tasks += [asyncio.create_task(self._watch(loop).run(self._stop), name=type(loop).__name__)
                  for loop in self.loops]
        tasks += [asyncio.create_task(self._supervise(c), name=f"consumer-{c.name}") for c in self.consumers]
        if self.consumers:  # not watched: a broker down is readiness's own check already
            gauge = DeadLetterGauge(self.settings, self.db, [self.settings.consumer_group_prefix + c.name
                                                             for c in self.consumers], self.settings.dead_letter_gauge_seconds)
            self._running.append(gauge)
            tasks.append(asyncio.create_task(gauge.run(self._stop), name="dead-letter-gauge"))
        return tasks

    async def work(self) -> None:
        """Run only the background work until cancelled (the `servicetrail work` process)."""
        await self.start()
        try:
            await self._stop.wait()
        finally:
            await self.stop()

    async def _start_relay(self) -> asyncio.Task[None]:
        assert self.producer is not None
        s = self.settings
        self.relay = OutboxRelay(
            self.db, self.store, self.producer, s.topic,
            batch_size=s.relay_batch_size, poll_seconds=s.relay_poll_seconds,
            linger_seconds=s.follower_linger_seconds,
            watch=BrokerWatch(s, also=self._topics()[1:]),
        )
        if s.relay_republish_from is not None:
            await self.relay.republish_from(s.relay_republish_from)
        self._followers.append(self.relay)
        return asyncio.create_task(self._watch(self.relay).run(self._stop), name=f"{s.service}-relay")

    def _start_projection(self, projection: Projection) -> asyncio.Task[None]:
        runner = ProjectionRunner(
            self.db, self.store, projection,
            poll_seconds=self.settings.relay_poll_seconds, linger_seconds=self.settings.follower_linger_seconds,
        )
        self._followers.append(runner)
        return asyncio.create_task(self._watch(runner).run(self._stop), name=f"projection-{projection.name}")

    def _watch(self, loop: Follower) -> Follower:
        loop.track_stalls(self.real_clock, self.settings.follower_stall_seconds, self.settings.schema_name)
        self._running.append(loop)
        self._watched.append(loop)
        return loop

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `work` (an admin's rebuild) beside the requests; stopping the service stops it."""
        task = asyncio.create_task(work, name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)
        return task

    async def stop(self) -> None:
        self._stop.set()
        for loop in self._running:  # out of its poll's wait now, not after it (an hour for retention)
            loop.wake()
        self._running.clear()
        self._watched.clear()
        for task in list(self._spawned):  # a rebuild cut short leaves the live read model as it was
            task.cancel()
        await asyncio.gather(*self._spawned, return_exceptions=True)
        _, pending = await asyncio.wait(self._tasks, timeout=5) if self._tasks else ((), ())
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.appender.stop()
        for held in self._held:
            await held.release()
        if self.producer is not None:
            await self.producer.stop()
        await self.close_pools()

    async def close_pools(self) -> None:
        """Close its database pools (the key store's too): all a runtime that was never started
        (a command line using a service's wiring) has to give back."""
        await self.keys.close()
        await self.db.dispose()

    async def append(self, stream_id: str, events: Sequence[Envelope], expected_version: int) -> int:
        """Append in a transaction of its own (group-committed), then nudge the relay."""
        version = await self.appender.append(stream_id, events, expected_version)
        self.wake_followers()
        return version

    def held_connection(self) -> HeldConnection:
        """A connection for one task to keep across its operations, given back when this stops."""
        held = HeldConnection(self.db)
        self._held.append(held)
        return held

    def wake_on_commit(self, follower: Follower) -> None:
        """Have a loop look as soon as this process commits events, not only at its next poll."""
        self._followers.append(follower)

    def wake_followers(self) -> None:
        """Something was committed: the relay and projections look now, not at their next poll."""
        for follower in self._followers:
            follower.wake()

    async def ready(self) -> dict[str, bool]:
        try:
            async with self.db.connect() as conn:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), 2)
            database = True
        except Exception:
            database = False
        broker = self.producer is not None and await broker_reachable(self.producer)
        return {"database": database, "broker": broker}

    def stalled(self) -> dict[str, str]:
        """Background loops of this process that have made no progress for too long, with why."""
        return {loop.name: reason for loop in self._watched if (reason := loop.stalled()) is not None}

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def _supervise(self, spec: ConsumerSpec) -> None:
        """Keep a consumer running: a broker outage or crash restarts it from committed offsets."""
        while not self._stop.is_set():
            runner = self._runner(spec)
            try:
                await runner.run(self._stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("consumer crashed; restarting", consumer=spec.name, error=repr(exc))
                await wait_or_timeout(self._stop, 1.0)

    def _runner(self, spec: ConsumerSpec) -> ConsumerRunner:
        assert self.producer is not None
        return ConsumerRunner(
            name=self.settings.consumer_group_prefix + spec.name,
            consumer=make_consumer(self.settings, self.settings.consumer_group_prefix + spec.name,
                                   *(self.settings.topic_prefix + t for t in spec.topics)),
            producer=self.producer,
            db=self.db,
            schema=self.settings.schema_name,
            handler=spec.handler,
            max_attempts=self.settings.consumer_max_attempts,
            backoff_seconds=self.settings.consumer_retry_backoff_seconds,
            after_commit=[self.wake_followers],
            ensure_topic=lambda topic: ensure_topics(self.settings, [topic]),
            decode=decoded if isinstance(spec.handler, Reactions) else None,
            service=self.settings.service,
        )

