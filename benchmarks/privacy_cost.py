"""What encryption costs intake's submit: the same checkout twice, side by side in one run, sealed
as it always runs and with personal data left plain (`benchmarks.plaintext_intake`).

Issue 14's budget: sealed at least 0.9 of plain. Both record reads in the access log; only the
sealed one looks keys up, seals six fields of each RequestReceived, opens the customer's open
requests to compare them, and carries the tokens' bytes through its store, relay and read model.
One process each, one scratch database (a schema each), one broker; rounds alternate, so a noisy
moment hurts both alike (`benchmarks.versus` does the same against an older checkout).

    .venv/bin/python -m benchmarks.privacy_cost
"""
from __future__ import annotations

import asyncio
import os

import orjson

from benchmarks.common import ROOT, with_servers, write_result
from benchmarks.intake_submit import start
from benchmarks.versus import alternate, compared, environment, serve, submits
from shared.runtime.embedded import free_port

ROUNDS = int(os.environ.get("PRIVACY_ROUNDS", "8"))


async def measure(url: str, bootstrap: str) -> dict:
    env = environment(url, bootstrap)
    sealed_port, sealed = serve(ROOT, "intake_versus_sealed", env)
    plain_port = free_port()
    plain = start(["-m", "benchmarks.plaintext_intake", str(plain_port)],
                  {**env, "DB_SCHEMA": "intake_versus_plain"}, plain_port)
    try:
        runs = await alternate(url, {"sealed": sealed_port, "plain": plain_port}, submits(), ROUNDS)
    finally:
        for process in (sealed, plain):
            process.terminate()
            process.wait(10)
    result = {
        "what": "POST /v1/requests durable, this checkout sealed and plain, one intake process each, "
                "64 clients, rounds alternating",
        "goal": "ratio_sealed_to_plain >= 0.9 (issue 14)",
        **compared(runs, "sealed", "plain"),
    }
    write_result("intake_submit_privacy_cost", result)
    return result


async def main() -> dict:
    return await with_servers(measure)


if __name__ == "__main__":
    print(orjson.dumps(asyncio.run(main()), option=orjson.OPT_INDENT_2).decode())
