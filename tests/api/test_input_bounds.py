"""Issue 11, defect 6: no client input may produce an event the relay cannot publish.

Every string, list, map and number a command takes is bounded (shared/limits.py); a bound broken
answers 422 problem+json naming the field, and nothing is recorded.
"""
from __future__ import annotations

import copy
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from shared import limits as lim
from shared.auth import Role
from tests.api.conftest import IntakeApi, request_body
from tests.api.dispatch_support import DispatchApi
from tests.support.app import as_role

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SHIFT = {"name": "day", "timezone": "Europe/London", "hours": {"mon": ["09:00-17:00"], "tue": ["09:00-17:00"]},
         "holidays": ["2026-12-25"]}


def days(count: int) -> list[str]:
    return [(date(2000, 1, 1) + timedelta(days=i)).isoformat() for i in range(count)]


async def events_of(dispatch: DispatchApi, stream_id: str) -> int:
    runtime = dispatch.app.state.runtime
    async with runtime.db.connect() as conn:
        return await conn.fetchval(f"SELECT count(*) FROM {runtime.store.schema}.events WHERE stream_id = $1",
                                   stream_id)


def named(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return [e["field"] for e in response.json()["errors"]]


# --- (a) the reproduction ------------------------------------------------------------------------

@pytest.mark.parametrize("count, status, field", [
    (100_000, 413, "body"),  # ~1.3 MB as an event: more than Kafka takes; the body is over the 1 MB limit
    (50_000, 422, "shift.holidays"),  # ~650 kB: within the body limit, far over the bound on holidays
])
async def test_a_shift_of_100_000_holidays_is_refused_naming_the_field_and_nothing_is_recorded(
        dispatch: DispatchApi, count: int, status: int, field: str):
    resource_id = f"res-{uuid.uuid4().hex[:8]}"
    body = {"id": resource_id, "name": "Tech", "skills": ["repair"], "capacity": 1,
            "shift": {**SHIFT, "holidays": days(count)}}
    response = await dispatch.call("POST", "/v1/resources", json=body)
    assert response.status_code == status, response.status_code
    assert named(response) == [field]
    assert await events_of(dispatch, f"resource-{resource_id}") == 0
    assert (await dispatch.call("GET", f"/v1/resources/{resource_id}")).status_code == 404


async def test_the_largest_shift_allowed_is_recorded_as_an_event_the_relay_can_publish(dispatch: DispatchApi):
    from shared.envelope import encoded_size

    resource_id = f"res-{uuid.uuid4().hex[:8]}"
    widest = {"name": "n" * lim.NAME_MAX, "timezone": "America/Argentina/ComodRivadavia",
              "hours": {d: [f"{h:02d}:00-{h:02d}:30" for h in range(lim.INTERVALS_MAX)] for d in ("mon", "tue", "sun")},
              "holidays": days(lim.HOLIDAYS_MAX)}
    body = {"id": resource_id, "name": "\x01" * lim.NAME_MAX, "capacity": lim.CAPACITY_MAX, "shift": widest,
            "skills": [{"name": f"{i:02d}" + "s" * (lim.CODE_MAX - 2), "level": 5} for i in range(lim.SKILLS_MAX)]}
    response = await dispatch.call("POST", "/v1/resources", json=body)
    assert response.status_code == 201, response.text
    runtime = dispatch.app.state.runtime
    async with runtime.db.connect() as conn:
        (event,) = await runtime.store.read_stream(conn, f"resource-{resource_id}")
    assert encoded_size(event) < lim.event_max_bytes() // 10


async def test_the_largest_submission_allowed_makes_an_event_far_below_the_limit(intake: IntakeApi, db):  # noqa: ANN001
    from shared.envelope import encoded_size

    # Control characters JSON-escape to six bytes each: the most bytes a character can cost.
    response = await intake.submit(title="\x01" * lim.NAME_MAX, description="\x01" * lim.TEXT_MAX,
                                   location="\x01" * lim.LOCATION_MAX)
    assert response.status_code == 201, response.text
    async with db.connect() as conn:
        events = await intake.store.read_stream(conn, f"request-{response.json()['id']}")
    assert events and max(encoded_size(e) for e in events) < lim.event_max_bytes() // 5


# --- (b) every bounded field of every command ----------------------------------------------------

def over(limit: int) -> str:
    return "x" * (limit + 1)


def too_many(item: Any, limit: int) -> list[Any]:
    return [item] * (limit + 1)


INTAKE = Role.agent
DISPATCH = Role.dispatcher
FEEDBACK = Role.agent
NOBODY = "none"  # a survey link is its own credential
REQ = "/v1/requests/00000000-0000-7000-8000-000000000000"
JOB = "/v1/jobs/00000000-0000-7000-8000-000000000000"
RESOURCE_BODY = {"name": "Tech", "skills": ["repair", {"name": "wiring", "level": 2}], "capacity": 2,
                 "zone": "north", "team": "field", "shift": SHIFT}
DUE = "2099-01-01T00:00:00Z"

# (service, role, method, path, a body valid for the schema, {field: an out-of-bounds value})
COMMANDS: list[tuple[str, Any, str, str, dict[str, Any], dict[str, Any]]] = [
    ("intake", INTAKE, "POST", "/v1/requests", request_body(), {
        "customer.id": over(lim.ID_MAX), "customer.name": over(lim.NAME_MAX),
        "customer.email": "a@b." + over(lim.EMAIL_MAX), "customer.phone": "+44" + "1" * 40,
        "category": over(lim.NAME_MAX), "title": over(lim.NAME_MAX), "description": over(lim.TEXT_MAX),
        "location": over(lim.LOCATION_MAX)}),
    ("intake", INTAKE, "POST", f"{REQ}/acknowledge", {"message": "on it"}, {"message": over(lim.TEXT_MAX)}),
    ("intake", INTAKE, "POST", f"{REQ}/triage", {"urgency": "high", "category": "fault", "reason": "r"},
     {"category": over(lim.NAME_MAX), "reason": over(lim.REASON_MAX)}),
    ("intake", INTAKE, "POST", f"{REQ}/need-confirmation", {"what": "w", "where": "x", "when": "today", "note": "n"},
     {"what": over(lim.TEXT_MAX), "where": over(lim.LOCATION_MAX), "when": over(lim.NAME_MAX),
      "note": over(lim.TEXT_MAX)}),
    ("intake", INTAKE, "PATCH", REQ, {"title": "t", "description": "d", "location": "l",
                                       "customer": {"name": "n", "email": "n@example.com"}, "reason": "r"},
     {"title": over(lim.NAME_MAX), "description": over(lim.TEXT_MAX), "location": over(lim.LOCATION_MAX),
      "customer.name": over(lim.NAME_MAX), "customer.email": "a@b." + over(lim.EMAIL_MAX),
      "reason": over(lim.REASON_MAX)}),
    ("intake", INTAKE, "POST", f"{REQ}/contacts", {"via": "call", "direction": "inbound", "summary": "s"},
     {"summary": over(lim.TEXT_MAX)}),
    ("intake", INTAKE, "POST", f"{REQ}/withdraw", {"reason": "r"}, {"reason": over(lim.REASON_MAX)}),
    ("intake", INTAKE, "POST", f"{REQ}/merge", {"into": "x", "reason": "r"},
     {"into": over(lim.ID_MAX), "reason": over(lim.REASON_MAX)}),
    ("dispatch", DISPATCH, "POST", "/v1/resources", RESOURCE_BODY, {
        "id": over(lim.ID_MAX), "name": over(lim.NAME_MAX), "skills": too_many("repair", lim.SKILLS_MAX),
        "skills.0": over(lim.CODE_MAX), "skills.1.name": over(lim.CODE_MAX), "skills.1.level": lim.SKILL_LEVEL_MAX + 1,
        "capacity": lim.CAPACITY_MAX + 1, "zone": over(lim.NAME_MAX), "team": over(lim.NAME_MAX),
        "shift.name": over(lim.NAME_MAX), "shift.timezone": over(lim.TIMEZONE_MAX),
        "shift.holidays": too_many("2026-12-25", lim.HOLIDAYS_MAX), "shift.holidays.0": over(lim.DATE_MAX),
        "shift.hours": {f"d{i}": [] for i in range(lim.WEEKDAYS_MAX + 1)},
        "shift.hours.mon": too_many("09:00-17:00", lim.INTERVALS_MAX), "shift.hours.mon.0": over(lim.INTERVAL_MAX),
        "shift.colour": "red"}),
    ("dispatch", DISPATCH, "PATCH", "/v1/resources/res-none", {**RESOURCE_BODY, "reason": "r"}, {
        "name": over(lim.NAME_MAX), "skills": too_many("repair", lim.SKILLS_MAX), "skills.0": over(lim.CODE_MAX),
        "capacity": lim.CAPACITY_MAX + 1, "zone": over(lim.NAME_MAX), "team": over(lim.NAME_MAX),
        "shift.holidays": too_many("2026-12-25", lim.HOLIDAYS_MAX), "shift.name": over(lim.NAME_MAX),
        "reason": over(lim.REASON_MAX)}),
    ("dispatch", DISPATCH, "POST", "/v1/resources/res-none/availability", {"status": "off_duty", "reason": "r"},
     {"reason": over(lim.REASON_MAX)}),
    ("dispatch", DISPATCH, "POST", f"{JOB}/allocate", {"resource_id": "res-1", "reason": "r"},
     {"resource_id": over(lim.ID_MAX), "reason": over(lim.REASON_MAX)}),
    ("dispatch", DISPATCH, "POST", f"{JOB}/decline", {"reason": "r"}, {"reason": over(lim.REASON_MAX)}),
    ("dispatch", DISPATCH, "POST", f"{JOB}/notes", {"note": "n", "milestone": "m"},
     {"note": over(lim.TEXT_MAX), "milestone": over(lim.NAME_MAX)}),
    ("dispatch", DISPATCH, "POST", f"{JOB}/pause", {"waiting_on": "parts", "note": "n"}, {"note": over(lim.TEXT_MAX)}),
    ("dispatch", DISPATCH, "POST", f"{JOB}/resolve", {"resolution_code": "fixed", "summary": "s"},
     {"resolution_code": over(lim.CODE_MAX), "summary": over(lim.TEXT_MAX)}),
    ("dispatch", DISPATCH, "POST", f"{JOB}/escalate", {"reason": "r"}, {"reason": over(lim.REASON_MAX)}),
    ("feedback", FEEDBACK, "POST", f"{REQ}/confirmation", {"accepted": False, "reason": "r"},
     {"reason": over(lim.TEXT_MAX)}),
    ("feedback", NOBODY, "POST", "/v1/surveys/not-a-token", {"csat": 4, "nps": 8, "dimensions": {"empathy": 4},
                                                              "comment": "c"},
     {"csat": lim.SCORE_MAX + 1, "nps": lim.NPS_MAX + 1, "dimensions.empathy": lim.SCORE_MAX + 1,
      "dimensions": {f"d{i}": 3 for i in range(lim.DIMENSIONS_MAX + 1)}, "comment": over(lim.TEXT_MAX)}),
    ("feedback", FEEDBACK, "POST", "/v1/feedback", {"kind": "complaint", "request_id": "r", "text": "t"},
     {"request_id": over(lim.ID_MAX), "text": over(lim.TEXT_MAX)}),
    ("feedback", FEEDBACK, "POST", "/v1/feedback/f-none/acknowledge", {"note": "n"}, {"note": over(lim.TEXT_MAX)}),
    ("feedback", FEEDBACK, "POST", "/v1/feedback/f-none/investigate", {"findings": "f"},
     {"findings": over(lim.TEXT_MAX)}),
    ("feedback", FEEDBACK, "POST", "/v1/feedback/f-none/resolve", {"outcome": "o"}, {"outcome": over(lim.TEXT_MAX)}),
    ("feedback", FEEDBACK, "POST", f"{REQ}/follow-up", {"outcome": "o"}, {"outcome": over(lim.TEXT_MAX)}),
    ("feedback", FEEDBACK, "POST", "/v1/actions", {"title": "t", "plan": "p", "owner": "o", "due_at": DUE,
                                                   "answers": ["f-none"]},
     {"title": over(lim.NAME_MAX), "plan": over(lim.TEXT_MAX), "owner": over(lim.NAME_MAX),
      "answers": too_many("f-none", lim.LINKS_MAX), "answers.0": over(lim.ID_MAX)}),
    ("feedback", FEEDBACK, "POST", "/v1/actions/a-none/progress", {"stage": "do", "note": "n"},
     {"stage": over(lim.CODE_MAX), "note": over(lim.TEXT_MAX)}),
]
CASES = [pytest.param(service, role, method, path, body, field, bad, id=f"{method} {path} {field}")
         for service, role, method, path, body, bad_fields in COMMANDS for field, bad in bad_fields.items()]


def with_value(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    node: Any = changed
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return changed


@pytest.fixture
def services(intake, dispatch, feedback) -> dict[str, httpx.AsyncClient]:  # noqa: ANN001
    return {"intake": intake.client, "dispatch": dispatch.client, "feedback": feedback[1]}


async def send(services: dict[str, httpx.AsyncClient], service: str, role: Any, method: str, path: str,
               body: dict[str, Any]) -> httpx.Response:
    headers = {} if role == NOBODY else as_role(role)
    return await services[service].request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("service, role, method, path, body",
                         [pytest.param(*c[:5], id=f"{c[2]} {c[3]}") for c in COMMANDS])
async def test_each_valid_body_of_the_table_passes_validation(services, service, role, method, path, body):
    """So that below, the field set out of bounds is the only thing wrong."""
    if path == "/v1/resources":
        body = {**body, "id": f"res-{uuid.uuid4().hex[:8]}"}
    response = await send(services, service, role, method, path, body)
    assert response.status_code != 422, response.text


@pytest.mark.parametrize("service, role, method, path, body, field, bad", CASES)
async def test_an_out_of_bounds_field_is_a_422_naming_it(services, service, role, method, path, body, field, bad):
    response = await send(services, service, role, method, path, with_value(body, field, bad))
    assert response.status_code == 422, response.text
    fields = named(response)
    assert fields and all(f == field or f.startswith(f"{field}.") for f in fields), fields
    assert field in response.json()["detail"]


# --- intake's fast lane refuses the same way -----------------------------------------------------

def lane_count(outcome: str) -> float:
    return REGISTRY.get_sample_value("servicetrail_http_fast_lane_total",
                                     {"route": "/v1/requests", "outcome": outcome}) or 0.0


@pytest.mark.parametrize("field, bad", [("description", over(lim.TEXT_MAX)), ("customer.name", over(lim.NAME_MAX))])
async def test_an_oversized_submission_through_the_fast_lane_is_refused_the_same_way(intake: IntakeApi, field, bad):
    assert intake.settings.http_fast_lane
    passed_on = lane_count("passed_on")
    response = await intake.client.post("/v1/requests", json=with_value(request_body(), field, bad),
                                        headers=as_role(Role.agent))
    assert response.status_code == 422 and named(response) == [field]
    assert lane_count("passed_on") == passed_on + 1  # the lane's schema refused it: the route answered
