"""Submit's fast lane answers exactly as the FastAPI route would, and passes on what it cannot check."""
from __future__ import annotations

import uuid
from typing import Any, AsyncIterator

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.clock import FrozenClock
from tests.api.conftest import MONDAY_10, request_body
from tests.support.app import as_role, serving

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

VARYING = {"id", "received_at", "respond_by", "resolve_by", "possible_duplicates"}


@pytest.fixture(scope="module")
async def lane_and_route(settings_for) -> AsyncIterator[dict[str, httpx.AsyncClient]]:  # noqa: ANN001
    """Two intake apps on one clock: one with the fast lane, one answering every submit by the route."""
    clock = FrozenClock(MONDAY_10)
    with_lane = settings_for("intake", IntakeSettings)
    without = settings_for("intake", IntakeSettings, http_fast_lane=False)
    async with serving(bootstrap(with_lane, clock=clock)) as lane, serving(bootstrap(without, clock=clock)) as route:
        yield {"lane": lane, "route": route}


def lane_count(outcome: str) -> float:
    return REGISTRY.get_sample_value("servicetrail_http_fast_lane_total",
                                     {"route": "/v1/requests", "outcome": outcome}) or 0.0


def comparable(response: httpx.Response) -> tuple[int, Any, str | None]:
    body = response.json()
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in VARYING}
    return response.status_code, body, response.headers.get("content-type")


async def both(clients: dict[str, httpx.AsyncClient], content: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return {name: await client.post("/v1/requests", content=content, headers=headers)
            for name, client in clients.items()}


CUSTOMER = f"cust-{uuid.uuid4().hex[:6]}"
JSON = {"Content-Type": "application/json"}
CASES = {
    "an agent's submission": (request_body(), as_role(Role.agent), "answered"),
    "a customer's own submission": (request_body(customer={"id": CUSTOMER, "name": "Ada"}),
                                    as_role(Role.customer, CUSTOMER), "answered"),
    "a customer submitting for someone else": (request_body(), as_role(Role.customer, CUSTOMER), "answered"),
    "an unknown category": (request_body(category="nonsense"), as_role(Role.agent), "answered"),
    # Refused before any body is read (shared.http.guards), so before the lane too: neither count moves.
    "no token": (request_body(), {}, None),
    "a forged token": (request_body(), {"Authorization": "Bearer not-a-token"}, None),
    "a role that may not submit": (request_body(), as_role(Role.technician), "passed_on"),
    "a body the schema refuses": (request_body(urgency="apocalyptic", title=""), as_role(Role.agent), "passed_on"),
    "an unknown field": (request_body(colour="red"), as_role(Role.agent), "passed_on"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_the_lane_answers_as_the_route_does(lane_and_route, case: str):
    body, headers, outcome = CASES[case]
    before = {o: lane_count(o) for o in ("answered", "passed_on")}
    answers = await both(lane_and_route, orjson.dumps(body), {**JSON, **headers})
    assert comparable(answers["lane"]) == comparable(answers["route"])
    after = {o: lane_count(o) for o in ("answered", "passed_on")}
    # the lane really took (or passed on) this one, or never saw it
    assert after == {o: before[o] + (o == outcome) for o in before}


async def test_a_body_that_is_not_json_is_passed_on_to_the_route(lane_and_route):
    before = lane_count("passed_on")
    answers = await both(lane_and_route, b'{"customer": ', {**JSON, **as_role(Role.agent)})
    assert comparable(answers["lane"]) == comparable(answers["route"])
    assert answers["lane"].status_code == 422 and lane_count("passed_on") == before + 1


async def test_a_retry_with_the_same_key_replays_the_first_answer_through_the_lane(lane_and_route):
    lane = lane_and_route["lane"]
    headers = {**JSON, **as_role(Role.agent), "Idempotency-Key": uuid.uuid4().hex}
    content = orjson.dumps(request_body())
    first = await lane.post("/v1/requests", content=content, headers=headers)
    again = await lane.post("/v1/requests", content=content, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = await lane.post("/v1/requests", content=orjson.dumps(request_body(title="Other")), headers=headers)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"


def requests_timed() -> float:
    return REGISTRY.get_sample_value("servicetrail_http_request_seconds_count", {
        "service": "intake", "method": "POST", "route": "/v1/requests", "status": "201"}) or 0.0


async def test_lane_answers_carry_the_correlation_id_into_the_events_and_the_metrics(lane_and_route, db):
    before = requests_timed()
    response = await lane_and_route["lane"].post(
        "/v1/requests", content=orjson.dumps(request_body()),
        headers={**JSON, **as_role(Role.agent), "X-Correlation-Id": "corr-lane-1"})
    assert response.status_code == 201 and response.headers["x-correlation-id"] == "corr-lane-1"
    assert requests_timed() == before + 1
    app = lane_and_route["lane"]._transport.app  # type: ignore[attr-defined]
    async with db.connect() as conn:
        events = await app.state.runtime.store.read_stream(conn, f"request-{response.json()['id']}")
    assert [e.correlation_id for e in events] == ["corr-lane-1"] * len(events) and events
