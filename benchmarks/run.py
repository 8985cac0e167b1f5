"""`make bench`: every benchmark, results written to benchmarks/results.json."""
from __future__ import annotations

import asyncio
import inspect

import orjson

from benchmarks import (
    analytics_rebuild,
    dispatch_allocation,
    dispatch_batch,
    eventstore,
    feedback_survey,
    intake_submit,
    privacy_cost,
    projection_rebuild,
    restart,
    service_rebuilds,
)


def main() -> None:
    for bench in (eventstore, intake_submit, privacy_cost, dispatch_batch, dispatch_allocation, feedback_survey, analytics_rebuild,
                  projection_rebuild, service_rebuilds, restart):
        result = bench.main()
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        print(orjson.dumps({bench.__name__: result}, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
