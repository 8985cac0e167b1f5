"""Bulk work with CPython's cyclic garbage collector relaxed while it runs.

A rebuild decodes, folds and drops containers by the hundred thousand: each batch's rows, events
and changed rows. Under the default thresholds (700, 10, 10) a young collection runs every 700 new
containers; what is still alive then (the batch being folded, the one read ahead) is promoted, and
the promotions set off full collections, each of which scans the whole heap. Measured on intake's
rebuild of 200,000 events: nearly a third of its CPU (4.1 s of CPU, 2.9 s with the thresholds below).

While any bulk work runs, a young collection waits for 50,000 new containers and the older
generations are collected less often. Reference counting still frees at once everything not in
a cycle: only cyclic garbage waits longer. A service runs under these thresholds from its start
(`shared.service`), so there this changes nothing; it matters in a process that is no service
(`servicetrail projections rebuild`, which rebuilds in its own, a benchmark). The thresholds come
back as they were when the last bulk work ends.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

RELAXED = (50_000, 20, 100)

_lock = threading.Lock()
_running = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def relaxed() -> Iterator[None]:
    """The collector's thresholds at `RELAXED` until this, and every other bulk work begun
    meanwhile, has ended; then as they were."""
    global _running, _saved
    with _lock:
        if _running == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*RELAXED)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
