"""Intake's real app on the suite's PostgreSQL and broker, with a clock the tests move."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator

import httpx
import pytest

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.clock import FrozenClock
from shared.eventstore import EventStore
from tests.support.app import as_role, serving

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


@dataclass
class IntakeApi:
    client: httpx.AsyncClient
    clock: FrozenClock
    settings: IntakeSettings
    store: EventStore

    async def submit(self, role: Role = Role.agent, subject: str | None = None, headers: dict[str, str] | None = None,
                     **changes: Any) -> httpx.Response:
        return await self.client.post("/v1/requests", json=request_body(**changes),
                                      headers={**as_role(role, subject), **(headers or {})})

    async def created(self, **changes: Any) -> dict[str, Any]:
        response = await self.submit(**changes)
        assert response.status_code == 201, response.text
        return response.json()

    async def command(self, request_id: str, action: str, body: dict[str, Any] | None = None,
                      role: Role = Role.agent, subject: str | None = None, **kwargs: Any) -> httpx.Response:
        return await self.client.post(f"/v1/requests/{request_id}/{action}", json=body,
                                      headers=as_role(role, subject), **kwargs)

    async def get(self, path: str, role: Role = Role.agent, subject: str | None = None, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, headers=as_role(role, subject), **kwargs)


def request_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {"id": f"cust-{uuid.uuid4().hex[:8]}", "name": "Ada Lovelace", "phone": "+44 20 7946 0000",
                     "email": "ada@example.com"},
        "channel": "phone", "kind": "fault", "category": "fault > equipment > printer",
        "title": "Printer jams on every page", "description": "The office printer on floor 2 jams on every page.",
        "urgency": "medium", "impact": "medium", "location": "Floor 2, room 12",
    }
    body.update(changes)
    return body


@pytest.fixture(scope="module")
async def intake(settings_for) -> AsyncIterator[IntakeApi]:  # noqa: ANN001
    clock = FrozenClock(MONDAY_10)
    settings = settings_for("intake", IntakeSettings)
    async with serving(bootstrap(settings, clock=clock)) as client:
        yield IntakeApi(client, clock, settings, EventStore(settings.schema_name, "intake"))


@pytest.fixture(autouse=True)
def reset_clock(request: pytest.FixtureRequest) -> None:
    if "intake" in request.fixturenames:
        request.getfixturevalue("intake").clock.set(MONDAY_10)


@pytest.fixture(scope="module")
async def dispatch(settings_for, broker):  # noqa: ANN001
    from services.dispatch.bootstrap import bootstrap as dispatch_bootstrap
    from services.dispatch.settings import DispatchSettings
    from tests.api.dispatch_support import MONDAY_10 as START
    from tests.api.dispatch_support import DispatchApi

    clock = FrozenClock(START)
    settings = settings_for("dispatch", DispatchSettings, sla_poll_seconds=0.05, allocator_poll_seconds=0.2)
    app = dispatch_bootstrap(settings, clock=clock)
    async with serving(app) as client:
        yield DispatchApi(client, clock, broker.bootstrap, app)


@pytest.fixture(scope="module")
async def feedback(settings_for, broker):  # noqa: ANN001
    from services.feedback.bootstrap import bootstrap as feedback_bootstrap
    from services.feedback.settings import FeedbackSettings

    clock = FrozenClock(MONDAY_10)
    settings = settings_for("feedback", FeedbackSettings, close_poll_seconds=0.05)
    app = feedback_bootstrap(settings, clock=clock)
    async with serving(app) as client:
        yield app, client, clock
