"""`make bench`: every benchmark, results written to benchmarks/results.json."""
from __future__ import annotations

import asyncio

import orjson

from benchmarks import eventstore


def main() -> None:
    for bench in (eventstore,):
        print(orjson.dumps(asyncio.run(bench.main()), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
