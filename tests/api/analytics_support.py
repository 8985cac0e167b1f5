"""Analytics' real app on its own copy of the topics, fed crafted histories through the real broker."""
from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncIterator, Callable

import httpx

from services.analytics.bootstrap import bootstrap
from services.analytics.settings import AnalyticsSettings
from shared.auth import Role
from shared.clock import FrozenClock
from tests.support.app import as_role, serving
from tests.support.history import History
from tests.support.kafka import produce
from tests.support.waiting import until


@dataclass
class AnalyticsApi:
    client: httpx.AsyncClient
    clock: FrozenClock
    settings: AnalyticsSettings
    bootstrap_servers: str

    async def get(self, path: str, role: Role = Role.analyst, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, headers={**as_role(role), **kwargs.pop("headers", {})}, **kwargs)

    async def report(self, name: str, **params: Any) -> dict[str, Any]:
        response = await self.get(f"/v1/reports/{name}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def publish(self, history: History, since: int = 0) -> None:
        """Put the history's envelopes (from the `since`-th on) on this app's topics."""
        for topic, envelopes in history.by_topic(self.settings.topic_prefix, since).items():
            await produce(self.bootstrap_servers, topic, envelopes)

    async def versions(self) -> list[dict[str, Any]]:
        response = await self.get("/v1/read-models", Role.admin)
        assert response.status_code == 200, response.text
        return response.json()["versions"]

    async def caught_up(self, events: int, timeout: float = 30.0) -> None:
        """Wait until the live read model has folded `events` archived events."""
        async def done() -> bool:
            live = [v for v in await self.versions() if v["status"] == "live"]
            return bool(live) and live[0]["head"] >= events and live[0]["position"] == live[0]["head"]
        await until(done, timeout)


@contextlib.asynccontextmanager
async def analytics_app(settings_for: Callable[..., Any], bootstrap_servers: str, now: datetime,
                        topic_prefix: str | None = None, **overrides: Any) -> AsyncIterator[AnalyticsApi]:
    """Topics of its own unless given a `topic_prefix` (another app's in-process topics, to read
    what that app's real code publishes)."""
    settings = settings_for("analytics", AnalyticsSettings, topic_prefix=topic_prefix or f"t{uuid.uuid4().hex[:8]}.",
                            read_model_grace_seconds=0, **overrides)
    clock = FrozenClock(now)
    async with serving(bootstrap(settings, clock=clock)) as client:
        yield AnalyticsApi(client, clock, settings, bootstrap_servers)
