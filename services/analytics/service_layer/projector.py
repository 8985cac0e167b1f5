"""Folds the archive into one version of the fact tables, exactly once, fast enough to rebuild.

Facts are cached between batches and written back as whole rows with the checkpoint, in one
transaction: a crash loses only the cache, and the next holder resumes from the checkpoint. If the
checkpoint moved without us (another replica held the lead meanwhile), the cache is dropped.
A version folded from position 0 by one holder has every fact in its cache ("complete"), so it
never asks the database for facts that cannot be there yet, and copies the facts it creates
straight into their tables: that is what makes rebuilds fast.
"""
from __future__ import annotations

import gc
from collections import defaultdict
from datetime import datetime
from typing import Any, Sequence

import structlog
from prometheus_client import Counter

from services.analytics.adapters.archive import Archive, Row
from services.analytics.adapters.decoding import Decoders
from services.analytics.adapters.fact_tables import FEEDBACK, REQUESTS, RESOURCES, FactTables, Table
from services.analytics.domain.folds import FOLDS
from services.analytics.domain.records import FEEDBACK_EVENTS, RESOURCE_EVENTS
from shared.checkpoint import Checkpoint, Lease
from shared.db import Database
from shared.events import DomainEvent
from shared.follower import Follower

log = structlog.get_logger(__name__)
EVENTS_NOT_FOLDED = Counter("servicetrail_analytics_events_not_folded_total",
                            "Archived events a fold could not read (a version newer than this code, or data that "
                            "does not fit its contract), skipped by the fold", ["event"])

FOLDED = frozenset(FOLDS) | FEEDBACK_EVENTS | RESOURCE_EVENTS  # the contracts some fact folds
Routed = list[tuple[int, DomainEvent, datetime, list[tuple[Table, str]]]]
_CACHE_LIMIT = 500_000


def routes(event: DomainEvent) -> list[tuple[Table, str]]:
    """Which facts an event folds into."""
    cls = type(event)
    if cls in RESOURCE_EVENTS:
        return [(RESOURCES, event.resource_id)]  # type: ignore[attr-defined]
    found: list[tuple[Table, str]] = []
    if cls in FEEDBACK_EVENTS:
        found.append((FEEDBACK, event.feedback_id))  # type: ignore[attr-defined]
    if cls in FOLDS and (request_id := getattr(event, "request_id", None)):
        found.append((REQUESTS, request_id))
    return found


class FactProjector(Follower):
    def __init__(self, db: Database, archive: Archive, tables: FactTables, *, batch_size: int = 5000,
                 flush_every: int = 100_000, poll_seconds: float = 0.25, lease: Lease = Lease()) -> None:
        super().__init__(batch_size, poll_seconds, 0.0)
        self.db, self.archive, self.tables, self.flush_every = db, archive, tables, flush_every
        self.lease = lease  # each statement and pause of a fold is bounded by it, not the whole fold
        self.checkpoint = Checkpoint(archive.schema, f"facts:v{tables.version}")
        self.cache: dict[Table, dict[str, Any]] = {t: {} for t in (REQUESTS, FEEDBACK, RESOURCES)}
        self.position: int | None = None  # as of our last commit; None = cache unknown
        self.complete = False  # the cache holds every fact there is
        self.folded = self.skipped = 0
        self.decoders = Decoders(FOLDED)

    async def run_once(self) -> int:
        # Folding allocates many small objects that are never cyclic garbage; with a large cache,
        # the collector's full passes over it cost more than the fold itself.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return await self._run_once()
        except BaseException:
            self._forget()
            raise
        finally:
            if collecting:
                gc.enable()

    async def _run_once(self) -> int:
        async with self.db.begin() as conn:
            if not await self.checkpoint.try_lead(conn, self.lease):  # and commits relaxed
                return 0
            position = await self.checkpoint.read(conn)
            if position != self.position:
                self._forget()
                self.complete = position == 0
            dirty: dict[Table, dict[str, tuple[Any, int]]] = defaultdict(dict)
            created: dict[Table, set[str]] = defaultdict(set)  # facts the tables hold no row of yet
            done = 0
            while done < self.flush_every:
                rows = await self.archive.page(conn, position, self.batch_size)
                if not rows:
                    break
                routed = self._read(rows)
                if not self.complete:
                    await self._prefetch(conn, routed)
                self._fold(routed, dirty, created)
                position, done = rows[-1][0], done + len(rows)
                if len(rows) < self.batch_size:
                    break
            if done:
                for table, facts in dirty.items():
                    new = created[table]
                    await self.tables.save(conn, table, [f for key, f in facts.items() if key not in new],
                                           [f for key, f in facts.items() if key in new])
                await self.checkpoint.save(conn, position)
        self.position, self.folded = position, self.folded + done
        if sum(len(c) for c in self.cache.values()) > _CACHE_LIMIT:
            self._forget()
        return done

    async def _prefetch(self, conn: Any, routed: Routed) -> None:
        wanted: dict[Table, set[str]] = defaultdict(set)
        for *_, targets in routed:
            for table, key in targets:
                if key not in self.cache[table]:
                    wanted[table].add(key)
        for table, keys in wanted.items():
            for fact in await self.tables.load(conn, table, keys):
                self.cache[table][getattr(fact, table.key)] = fact

    def _read(self, rows: Sequence[Row]) -> Routed:
        """Each row as its typed contract, with the facts it folds into. A row no fact folds is
        passed over undecoded. One this code cannot read (a version newer than it knows, or data
        that does not fit its contract, archived before the archive read contracts) is skipped,
        alike by every fold of the archive (so a rebuild still equals the live version), counted
        and logged: never a read model stuck behind one event."""
        routed: Routed = []
        decoder_of = self.decoders.get
        for position, ce_type, _, at, text in rows:
            decoder = decoder_of(ce_type)
            if decoder is None:
                continue
            try:
                event = decoder(text)
            except (ValueError, LookupError) as exc:  # ValidationError, ContractViolation, UnknownEventType
                self._unfoldable(position, ce_type.split(".")[2], exc, ce_type)
                continue
            routed.append((position, event, at, routes(event)))
        return routed

    def _fold(self, routed: Routed, dirty: dict[Table, dict[str, tuple[Any, int]]],
              created: dict[Table, set[str]]) -> None:
        for position, event, at, targets in routed:
            for table, key in targets:
                cache = self.cache[table]
                fact = cache.get(key)
                if fact is None:
                    fact = cache[key] = table.model(key)
                    if self.complete:  # every fact there is was in the cache: the tables hold none of this one
                        created[table].add(key)
                try:
                    fact.apply(event, at)
                except (TypeError, ValueError) as exc:  # an untyped value in a contract (a resource's changes)
                    self._unfoldable(position, type(event).event_name(), exc)
                    continue
                dirty[table][key] = (fact, position)

    def _unfoldable(self, position: int, name: str, exc: Exception, ce_type: str | None = None) -> None:
        self.skipped += 1
        EVENTS_NOT_FOLDED.labels(name).inc()
        log.warning("event not folded", position=position, event_name=name, type=ce_type, error=repr(exc),
                    version=self.tables.version)

    def _forget(self) -> None:
        for cache in self.cache.values():
            cache.clear()
        self.position, self.complete = None, False
