"""Bulk work relaxes the cyclic collector while it runs, and leaves it as it was."""
from __future__ import annotations

import asyncio
import gc

import pytest

from shared import collector


@pytest.fixture(autouse=True)
def defaults():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_the_thresholds_are_relaxed_while_bulk_work_runs_and_as_they_were_after():
    with collector.relaxed():
        assert gc.get_threshold() == collector.RELAXED
    assert gc.get_threshold() == (700, 10, 10)


def test_they_stay_relaxed_until_the_last_of_overlapping_bulk_works_ends():
    async def bulk(entered: asyncio.Event, leave: asyncio.Event) -> None:
        with collector.relaxed():
            entered.set()
            await leave.wait()

    async def overlapping() -> None:
        first_in, second_in, first_out, second_out = (asyncio.Event() for _ in range(4))
        first = asyncio.create_task(bulk(first_in, first_out))
        second = asyncio.create_task(bulk(second_in, second_out))
        await first_in.wait()
        await second_in.wait()
        first_out.set()
        await first
        assert gc.get_threshold() == collector.RELAXED  # the second still runs
        second_out.set()
        await second
        assert gc.get_threshold() == (700, 10, 10)

    asyncio.run(overlapping())


def test_bulk_work_that_fails_still_gives_the_thresholds_back():
    with pytest.raises(RuntimeError), collector.relaxed():
        raise RuntimeError("a rebuild stopped part way")
    assert gc.get_threshold() == (700, 10, 10)
