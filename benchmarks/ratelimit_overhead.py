"""What the rate-limit middleware (shared/http/ratelimit.py) adds to one request, on its own: the
same ASGI scope through RateLimits to an app that does nothing, against that app called directly.
`python -m benchmarks.ratelimit_overhead`; not in `make bench` (no servers, nothing to keep).
Intake's submit costs about 1.2 ms of a core each (results.json), so 1 µs here is ~0.1 % of it.
"""
from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from shared.auth import Role, TokenService
from shared.clock import SystemClock
from shared.http.ratelimit import RateLimits, rate_limits_out_of_the_way
from shared.settings import Settings

N, REPEATS = 100_000, 5


async def _nothing(scope: Any, receive: Any, send: Any) -> None:
    return None


def scope_of(method: str, path: str, authorization: str | None, app: Any) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8001"), (b"user-agent", b"loadgen"), (b"accept", b"*/*"),
               (b"content-type", b"application/json"), (b"content-length", b"312"), (b"idempotency-key", b"k")]
    if authorization:
        headers.append((b"authorization", authorization.encode()))
    return {"type": "http", "method": method, "path": path, "headers": headers, "client": ("127.0.0.1", 50_000),
            "app": app}


async def per_call_ns(app: Any, scope: dict[str, Any]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter_ns()
        for _ in range(N):
            await app(dict(scope), None, None)
        best = min(best, (time.perf_counter_ns() - started) / N)
    return best


async def main() -> dict[str, float]:
    rate_limits_out_of_the_way()  # every request admitted: the path a busy, well-behaved client takes
    settings = Settings()
    tokens = TokenService(settings)
    holder = SimpleNamespace(state=SimpleNamespace(tokens=tokens))
    limited = RateLimits(_nothing, settings, SystemClock())
    bearer = f"Bearer {tokens.mint(Role.agent, 'bench-agent')}"
    cases = {
        "submit_valid_token": scope_of("POST", "/v1/requests", bearer, holder),
        "read_valid_token": scope_of("GET", "/v1/requests/x", bearer, holder),
        "survey_link_no_token": scope_of("POST", "/v1/surveys/t", None, holder),
    }
    result = {}
    for name, scope in cases.items():
        bare, through = await per_call_ns(_nothing, scope), await per_call_ns(limited, scope)
        result[f"{name}_added_ns"] = round(through - bare)
    return result


if __name__ == "__main__":
    print(asyncio.run(main()))
