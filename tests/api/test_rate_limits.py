"""Issue 13, defect 6: per-client rate limits on commands, failed authentications and survey links.

These apps run with small limits (the rest of the suite raises them out of its way, tests/conftest.py)
on a FrozenClock: a limit is spent in a few requests and comes back when the clock moves, never by
sleeping. Each test uses subjects and addresses of its own, so the module's apps can be shared.
"""
from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from services.intake.bootstrap import bootstrap as intake_bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.clock import FrozenClock
from tests.api.conftest import MONDAY_10, request_body
from tests.support.app import as_role, serving

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

# 6 a minute is one every 10 s: a client spends its burst of 3 at once, then waits 10 s for each more.
LIMITS = dict(
    rate_limit_commands_per_minute=6, rate_limit_commands_burst=3,
    rate_limit_auth_failures_per_minute=6, rate_limit_auth_failures_burst=3,
    rate_limit_survey_per_minute=60, rate_limit_survey_burst=5,
    rate_limit_survey_failures_per_minute=6, rate_limit_survey_failures_burst=3,
)
BAD_TOKEN = {"Authorization": "Bearer not-a-token"}


@dataclass
class Limited:
    app: FastAPI
    clock: FrozenClock
    client: httpx.AsyncClient  # calls from 127.0.0.1

    @contextlib.asynccontextmanager
    async def from_address(self, host: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client calling the same running app from another address."""
        transport = httpx.ASGITransport(app=self.app, client=(host, 40_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            yield client


@pytest.fixture(scope="module")
async def limited_intake(settings_for) -> AsyncIterator[Limited]:  # noqa: ANN001
    clock = FrozenClock(MONDAY_10)
    app = intake_bootstrap(settings_for("intake", IntakeSettings, **LIMITS), clock=clock)
    async with serving(app) as client:
        yield Limited(app, clock, client)


@pytest.fixture(scope="module")
async def limited_feedback(settings_for) -> AsyncIterator[Limited]:  # noqa: ANN001
    from services.feedback.bootstrap import bootstrap as feedback_bootstrap
    from services.feedback.settings import FeedbackSettings

    clock = FrozenClock(MONDAY_10)
    app = feedback_bootstrap(settings_for("feedback", FeedbackSettings, **LIMITS), clock=clock)
    async with serving(app) as client:
        yield Limited(app, clock, client)


def someone(role: Role = Role.agent) -> dict[str, str]:
    return as_role(role, f"{role.value}-{uuid.uuid4().hex[:8]}")


def lane_answered() -> float:
    return REGISTRY.get_sample_value("servicetrail_http_fast_lane_total",
                                     {"route": "/v1/requests", "outcome": "answered"}) or 0.0


def assert_too_many(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == str(retry_after)
    body = response.json()
    assert body["status"] == 429 and body["title"] == "Too many requests" and body["detail"]


async def test_commands_beyond_the_limit_are_refused_429_with_retry_after(limited_intake: Limited):
    api, mine = limited_intake, someone()
    created = [await api.client.post("/v1/requests", json=request_body(), headers=mine) for _ in range(3)]
    assert [r.status_code for r in created] == [201, 201, 201]
    answered = lane_answered()
    assert_too_many(await api.client.post("/v1/requests", json=request_body(), headers=mine), 10)
    assert lane_answered() == answered  # refused in front of intake's fast lane, not by it
    # Every command shares the client's budget, not only submit's.
    request_id = created[0].json()["id"]
    assert_too_many(await api.client.post(f"/v1/requests/{request_id}/acknowledge", json={}, headers=mine), 10)
    assert_too_many(await api.client.patch(f"/v1/requests/{request_id}", json={"title": "x", "reason": "y"},
                                           headers=mine), 10)


async def test_another_client_is_not_affected_by_one_that_spent_its_limit(limited_intake: Limited):
    api, mine, other = limited_intake, someone(), someone()
    for _ in range(3):
        assert (await api.client.post("/v1/requests", json=request_body(), headers=mine)).status_code == 201
    assert (await api.client.post("/v1/requests", json=request_body(), headers=mine)).status_code == 429
    # Same address, another subject: a token's subject is the client, not the address it calls from.
    assert (await api.client.post("/v1/requests", json=request_body(), headers=other)).status_code == 201


async def test_reads_are_not_limited_by_the_command_limit(limited_intake: Limited):
    api, mine = limited_intake, someone()
    created = [await api.client.post("/v1/requests", json=request_body(), headers=mine) for _ in range(4)]
    assert [r.status_code for r in created] == [201, 201, 201, 429]
    request_id = created[0].json()["id"]
    for _ in range(10):
        assert (await api.client.get(f"/v1/requests/{request_id}", headers=mine)).status_code == 200
    assert (await api.client.get("/v1/requests", headers=mine)).status_code == 200


async def test_the_limit_comes_back_as_the_clock_moves(limited_intake: Limited):
    api, mine = limited_intake, someone()
    for _ in range(3):
        assert (await api.client.post("/v1/requests", json=request_body(), headers=mine)).status_code == 201
    assert_too_many(await api.client.post("/v1/requests", json=request_body(), headers=mine), 10)
    api.clock.advance(seconds=4)
    assert_too_many(await api.client.post("/v1/requests", json=request_body(), headers=mine), 6)
    api.clock.advance(seconds=6)
    assert (await api.client.post("/v1/requests", json=request_body(), headers=mine)).status_code == 201
    assert_too_many(await api.client.post("/v1/requests", json=request_body(), headers=mine), 10)
    api.clock.advance(seconds=60)  # a quiet minute refills the whole burst
    for _ in range(3):
        assert (await api.client.post("/v1/requests", json=request_body(), headers=mine)).status_code == 201


async def test_bad_tokens_from_one_address_are_refused_429_after_a_few(limited_intake: Limited):
    api = limited_intake
    async with api.from_address("10.13.6.1") as attacker, api.from_address("10.13.6.2") as bystander:
        for _ in range(3):
            assert (await attacker.get("/v1/requests", headers=BAD_TOKEN)).status_code == 401
        assert_too_many(await attacker.get("/v1/requests", headers=BAD_TOKEN), 10)
        assert_too_many(await attacker.post("/v1/requests", json=request_body(), headers=BAD_TOKEN), 10)
        # The limit is on failing credentials: a valid token, and requests without any, still pass.
        assert (await attacker.get("/v1/requests", headers=someone())).status_code == 200
        assert (await attacker.get("/healthz")).status_code == 200
        assert (await bystander.get("/v1/requests", headers=BAD_TOKEN)).status_code == 401
        api.clock.advance(seconds=10)
        assert (await attacker.get("/v1/requests", headers=BAD_TOKEN)).status_code == 401
        assert_too_many(await attacker.get("/v1/requests", headers=BAD_TOKEN), 10)


async def test_missing_tokens_count_as_failed_authentications(limited_intake: Limited):
    api = limited_intake
    async with api.from_address("10.13.6.3") as scanner:
        for _ in range(3):
            assert (await scanner.get("/v1/queues/triage")).status_code == 401
        assert_too_many(await scanner.get("/v1/queues/triage", headers=BAD_TOKEN), 10)


async def test_forged_survey_links_are_refused_429_after_a_few(limited_feedback: Limited):
    api = limited_feedback
    async with api.from_address("10.13.6.4") as forger, api.from_address("10.13.6.5") as other:
        for n in range(3):
            assert (await forger.post(f"/v1/surveys/forged-{n}", json={"csat": 5})).status_code == 404
        assert_too_many(await forger.post("/v1/surveys/forged-3", json={"csat": 5}), 10)
        assert (await other.post("/v1/surveys/forged-4", json={"csat": 5})).status_code == 404
        api.clock.advance(seconds=10)
        assert (await forger.post("/v1/surveys/forged-5", json={"csat": 5})).status_code == 404
        assert_too_many(await forger.post("/v1/surveys/forged-6", json={"csat": 5}), 10)


async def test_survey_link_attempts_are_limited_even_when_none_fails(limited_feedback: Limited):
    api = limited_feedback
    async with api.from_address("10.13.6.6") as sender:
        for _ in range(5):  # an invalid body is the sender's mistake, not a failed link
            assert (await sender.post("/v1/surveys/anything", json={"csat": 9})).status_code == 422
        assert_too_many(await sender.post("/v1/surveys/anything", json={"csat": 9}), 1)
        api.clock.advance(seconds=1)
        assert (await sender.post("/v1/surveys/anything", json={"csat": 9})).status_code == 422


async def test_feedback_commands_are_limited_per_subject(limited_feedback: Limited):
    api, customer = limited_feedback, someone(Role.customer)
    sent = [await api.client.post("/v1/feedback", json={"kind": "suggestion", "text": "More light"},
                                  headers=customer) for _ in range(4)]
    assert [r.status_code for r in sent] == [201, 201, 201, 429]


async def test_the_openapi_declares_429_on_every_operation(limited_intake: Limited):
    schema = (await limited_intake.client.get("/openapi.json")).json()
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]
    assert operations
    missing = [f"{method.upper()} {path}" for path, method, op in operations if "429" not in op["responses"]]
    assert not missing, missing
    declared = schema["paths"]["/v1/requests"]["post"]["responses"]["429"]
    assert "Retry-After" in declared["headers"]
