"""BatchLoader: a look-up begun ahead (`future`) by a caller that failed before awaiting it."""
from __future__ import annotations

import asyncio
import gc

import pytest

from shared.batching import BatchLoader


async def _failing(keys):
    raise ConnectionError("the key store is down")


def test_a_failed_look_up_raises_where_awaited_and_logs_nothing_where_it_never_is():
    reported: list[dict] = []

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
        loader: BatchLoader[str, int] = BatchLoader(_failing, default=0)
        loader.future("abandoned")  # its caller failed before awaiting it
        with pytest.raises(ConnectionError, match="down"):
            await loader.load("awaited")
        await asyncio.sleep(0)
        gc.collect()  # an exception never retrieved is reported when its future is collected

    asyncio.run(scenario())
    assert reported == []
