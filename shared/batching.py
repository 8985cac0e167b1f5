"""Batched reads: concurrent lookups that arrive together share one query and one connection."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Generic, Hashable, Sequence, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    """`load(key)` queues the key; one worker answers every queued key with one `fetch_many`.

    No waiting to fill a batch: while one query runs, the next batch gathers by itself.
    """

    def __init__(self, fetch_many: Callable[[Sequence[K]], Awaitable[dict[K, V]]], default: V,
                 max_batch: int = 256) -> None:
        self._fetch_many, self._default, self._max = fetch_many, default, max_batch
        self._waiting: dict[K, list[asyncio.Future[V]]] = {}
        self._worker: asyncio.Task[None] | None = None

    async def load(self, key: K) -> V:
        return await self.future(key)

    def future(self, key: K) -> asyncio.Future[V]:
        """`load` begun now, its answer awaited later: for a caller with another look-up to make
        meanwhile (both then share the time of one round trip)."""
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return future

    async def _drain(self) -> None:
        while self._waiting:
            keys = list(self._waiting)[: self._max]
            futures = {k: self._waiting.pop(k) for k in keys}
            try:
                found = await self._fetch_many(keys)
            except Exception as exc:
                for waiters in futures.values():
                    for f in waiters:
                        if not f.done():
                            f.set_exception(exc)
                            # Marked retrieved: whoever awaits it still gets the error, and a look-up
                            # begun ahead (`future`) by a caller that failed first logs no warning.
                            f.exception()
                continue
            for key, waiters in futures.items():
                for f in waiters:
                    if not f.done():
                        f.set_result(found.get(key, self._default))
