"""Per-client rate limits, as ASGI middleware in front of every route (intake's fast lane included).

A client is its verified token's subject, else its address (IPv6 by its /64, which one host usually
holds whole). Limits (Settings.rate_limit_*, each a rate and a burst): commands (POST, PUT, PATCH,
DELETE) per client; failed authentications (401 answers) per address, after which a credential that
does not verify is refused unchecked; survey-link attempts, and failed ones (forged, used, expired),
per address, since a link is a credential too. A refusal is a 429 problem with Retry-After.

Why no library: `limits` reads time.time() in its storages and strategies, so the service's clock
cannot drive it, and `slowapi` builds on it with route decorators (the fast lane has no route) and a
BaseHTTPMiddleware. pyrate-limiter 4 takes a clock, but keeps a bucket and a lock per client behind a
limiter-wide lock, its GCRA is internal API in v4, and a clock set back (tests do; stepped system
clocks too) locks a client out until time catches up. GCRA here is one float per client.
"""
from __future__ import annotations

import functools
import ipaddress
import math
import os
from typing import Any

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.clock import Clock
from shared.http.problems import PROBLEM_JSON, problem
from shared.settings import Settings

COMMANDS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SURVEY_LINKS = "/v1/surveys/"
LINK_FAILURES = frozenset({404, 409, 410})  # forged, already used, expired
_SLACK = 1e-3  # seconds: a full burst must not lose its last request to float rounding

REFUSED = Counter("servicetrail_http_rate_limited_total", "Requests refused 429 by a per-client limit", ["limit"])

# What every operation may answer; create_app declares it in the OpenAPI.
RATE_LIMITED: dict[str, Any] = {
    "description": "Too many requests from this client (problem details); Retry-After says when to try again",
    "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
    "content": {PROBLEM_JSON: {"schema": {"type": "object"}}},
}


def rate_limits_out_of_the_way() -> None:
    """Raise every burst beyond reach in this process and those it starts (still checked on every
    request, so their cost stays measured). For the tests and the benchmarks only: they send
    thousands of requests from one subject and one address, on clocks that stand still."""
    for limit in ("COMMANDS", "AUTH_FAILURES", "SURVEY", "SURVEY_FAILURES"):
        os.environ.setdefault(f"RATE_LIMIT_{limit}_BURST", "1000000000")


class ClientLimit:
    """A sustained rate and a burst per client: GCRA, one "paid off at" instant per client.

    Holds at most `max_clients` clients; the least recently seen are forgotten first, which only
    gives them a fresh budget (a client paid off is the same as one never seen)."""

    def __init__(self, per_minute: float, burst: int, max_clients: int) -> None:
        self.off = per_minute <= 0
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0  # what one request costs, seconds
        self.window = burst * self.interval  # how far ahead of now a client's spending may run
        self.max_clients = max_clients
        self._due: dict[str, float] = {}  # client -> paid off at; insertion order is recency

    def take(self, client: str, now: float) -> float:
        """Spend one request of the client's budget: 0.0 if it may go ahead, else the seconds it
        must wait (and nothing is spent)."""
        if self.off:
            return 0.0
        due = self._paid_off_at(self._due.pop(client, now), now)
        wait = due + self.interval - self.window - now
        if wait > _SLACK:
            self._due[client] = due  # seen again, refused: remembered longer
            return wait
        self._due[client] = due + self.interval
        if len(self._due) > self.max_clients:
            del self._due[next(iter(self._due))]
        return 0.0

    def wait(self, client: str, now: float) -> float:
        """The seconds until the client may spend one more request (0.0: now), spending nothing."""
        due = self._due.get(client)
        if self.off or due is None:
            return 0.0
        wait = self._paid_off_at(due, now) + self.interval - self.window - now
        return wait if wait > _SLACK else 0.0

    def _paid_off_at(self, due: float, now: float) -> float:
        # Beyond the window only if the clock was set back: start afresh rather than lock the client
        # out until time catches up.
        return now if due < now or due > now + self.window + self.interval else due

    def __len__(self) -> int:
        return len(self._due)


class RateLimits:
    """ASGI middleware refusing, 429 with Retry-After, what goes over a per-client limit.

    Reads the service's clock (tests move a FrozenClock); `app.state.tokens.principal_of` names the
    subject from its cache of verified tokens, so a request with a known token costs a dict lookup."""

    def __init__(self, app: ASGIApp, settings: Settings, clock: Clock) -> None:
        s, size = settings, settings.rate_limit_clients
        self.app, self.clock, self._tokens = app, clock, None
        self.commands = ClientLimit(s.rate_limit_commands_per_minute, s.rate_limit_commands_burst, size)
        self.auth_failures = ClientLimit(s.rate_limit_auth_failures_per_minute, s.rate_limit_auth_failures_burst, size)
        self.links = ClientLimit(s.rate_limit_survey_per_minute, s.rate_limit_survey_burst, size)
        self.link_failures = ClientLimit(s.rate_limit_survey_failures_per_minute, s.rate_limit_survey_failures_burst,
                                         size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization = principal = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                if self._tokens is None:  # on first use: the app's token service, set up before serving
                    self._tokens = scope["app"].state.tokens
                principal = self._tokens.principal_of(authorization)
                break
        survey, command = scope["path"].startswith(SURVEY_LINKS), scope["method"] in COMMANDS
        if principal is not None and not (survey or command):
            await self.app(scope, receive, send)  # a read with a valid token: no limit applies
            return
        now = self.clock.now().timestamp()
        address = _address(scope) if principal is None or survey else ""
        if principal is None and authorization is not None and (wait := self.auth_failures.wait(address, now)):
            return await _refuse("failed authentications", wait, scope, receive, send)
        if survey:
            if wait := self.link_failures.wait(address, now):
                return await _refuse("failed survey link attempts", wait, scope, receive, send)
            if wait := self.links.take(address, now):
                return await _refuse("survey link attempts", wait, scope, receive, send)
        elif command:
            if wait := self.commands.take(address if principal is None else "sub:" + principal.subject, now):
                return await _refuse("commands", wait, scope, receive, send)
        if address:  # only a request without a verified token can fail authentication
            send = self._counting_failures(send, address, survey, now)
        await self.app(scope, receive, send)

    def _counting_failures(self, send: Send, address: str, survey: bool, now: float) -> Send:
        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 401:
                    self.auth_failures.take(address, now)
                elif survey and message["status"] in LINK_FAILURES:
                    self.link_failures.take(address, now)
            await send(message)

        return counting


def _address(scope: Scope) -> str:
    """The client's address as the server saw it (behind a proxy, as the server's proxy headers
    settings make it: uvicorn's --forwarded-allow-ips)."""
    host = (scope.get("client") or ("unknown", 0))[0]
    return "ip:" + (_ipv6_prefix(host) if ":" in host else host)


@functools.lru_cache(maxsize=4096)
def _ipv6_prefix(host: str) -> str:
    try:
        return str(ipaddress.IPv6Network(f"{host}/64", strict=False))
    except ValueError:
        return host


async def _refuse(what: str, wait: float, scope: Scope, receive: Receive, send: Send) -> None:
    REFUSED.labels(what).inc()
    seconds = max(1, math.ceil(wait - _SLACK))
    response = problem(429, "Too many requests", f"too many {what} from this client; try again in {seconds} s")
    response.headers["Retry-After"] = str(seconds)
    await response(scope, receive, send)
