"""Issue 13: the hostile corpus sent to every operation of every service never gets a 500 nor
holds up a /healthz sent alongside it for more than 100 ms, and afterwards every read still
answers (one client's input must not break the desk for anyone).

Each operation of each service's OpenAPI gets: every hostile value in each path and query
parameter, each hostile value in each body field of an otherwise valid body, raw bodies no parser
should take, and bad bytes in the headers every route reads. As an admin, so role checks stop
nothing, on real objects, so a value that passes validation reaches the handlers and the stores.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timezone
from typing import Any, AsyncIterator

import httpx
import pytest

from shared.auth import Role
from tests.api import hostile as h
from tests.api.analytics_support import analytics_app
from tests.api.conftest import IntakeApi
from tests.api.dispatch_support import DispatchApi
from tests.support.app import as_role

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

ADMIN = as_role(Role.admin, "hostile-admin")


@pytest.fixture(scope="module")
async def analytics(settings_for, broker) -> AsyncIterator[Any]:  # noqa: ANN001
    async with analytics_app(settings_for, broker.bootstrap, datetime(2026, 3, 2, 10, tzinfo=timezone.utc)) as api:
        yield api


async def ids_of(service: str, intake: IntakeApi, dispatch: DispatchApi, feedback: Any) -> dict[str, str]:
    """Real objects of the service, so commands on them get past 'not found'."""
    if service == "intake":
        first, second = await intake.created(), await intake.created()
        return {"request_id": first["id"], "into": second["id"]}
    if service == "dispatch":
        resource = await dispatch.resource("printers", capacity=5)
        request_id = await dispatch.triage("printers")
        await dispatch.job(request_id)
        return {"request_id": request_id, "resource_id": resource["id"]}
    if service == "feedback":
        _, client, _ = feedback
        made = await client.post("/v1/feedback", headers=ADMIN, json={
            "kind": "complaint", "text": "The engineer never came."})
        action = await client.post("/v1/actions", headers=ADMIN, json={
            "title": "Call back within a day", "plan": "Ring the customer.", "owner": "lead",
            "due_at": "2026-04-01T00:00:00+00:00"})
        assert made.status_code == 201 and action.status_code == 201, (made.text, action.text)
        return {"feedback_id": made.json().get("id", ""), "action_id": action.json().get("id", "")}
    return {"version": "1"}


def client_of(service: str, intake: IntakeApi, dispatch: DispatchApi, feedback: Any, analytics: Any) -> httpx.AsyncClient:
    return {"intake": intake.client, "dispatch": dispatch.client, "feedback": feedback[1],
            "analytics": analytics.client}[service]


async def corpus(client: httpx.AsyncClient, ids: dict[str, str]) -> AsyncIterator[tuple[str, httpx.Response]]:
    openapi = (await client.get("/openapi.json")).json()
    for op in h.operations(openapi):
        async def send(url: str, **kw: Any) -> httpx.Response:
            if op.path == "/metrics":  # its time is the metric registry's size, not the input's (and in
                return await client.request(op.method, url, **kw)  # this process it holds every test's)
            response, probe = await with_health_probe(client, client.request(op.method, url, **kw))
            for _ in range(2):  # once or twice may be the machine (other tests' loops); a real stall recurs
                if probe <= STALL_SECONDS:
                    break
                response, probe = await with_health_probe(client, client.request(op.method, url, **kw))
            if probe > STALL_SECONDS:
                return httpx.Response(598, text=f"/healthz sent alongside waited {probe * 1000:.0f} ms")
            return response

        with_body = op.body_schema is not None
        body = h.valid_body(op.body_schema, op.components, ids) if with_body else None
        base = {"headers": ADMIN, **({"json": body} if with_body else {})}
        for p in op.params:
            values = h.PATH_VALUES if p["in"] == "path" else h.QUERY_VALUES
            for value in values:
                if p["in"] == "path":
                    yield f"{op.method} {op.path} path {p['name']}={value[:40]!r}", await send(
                        op.url(ids, **{p["name"]: value}), **base)
                elif p["in"] == "query":
                    yield f"{op.method} {op.path} query {p['name']}={value[:40]!r}", await send(
                        f"{op.url(ids)}?{p['name']}={value}", **base)
        for name, value in h.HEADERS:
            yield f"{op.method} {op.path} header {name!r}={value[:20]!r}", await send(
                op.url(ids), headers=[*ADMIN.items(), (name, value)], **({"json": body} if with_body else {}))
        if not with_body:
            continue
        assert op.body_schema is not None
        for path, inner in h.body_fields(op.body_schema, op.components, ids):
            for value in h.BODY_VALUES:
                changed = h.with_value(body, path, value, inner)
                yield f"{op.method} {op.path} body {'.'.join(path)}={str(value)[:40]!r}", await send(
                    op.url(ids), headers=ADMIN, content=_json(changed))
        for raw in h.RAW_BODIES:
            yield f"{op.method} {op.path} raw body {raw[:30]!r}", await send(
                op.url(ids), headers={**ADMIN, "content-type": "application/json"}, content=raw)


STALL_SECONDS = 0.1  # the bound for a /healthz sent while a hostile request is handled


async def with_health_probe(client: httpx.AsyncClient, request: Any) -> tuple[httpx.Response, float]:
    """The answer to `request`, and how long a /healthz sent at the same moment took. In process,
    one event loop serves both: whatever the request does without yielding (parsing a huge body,
    a runaway regex) holds the probe back by as much."""
    started = time.perf_counter()

    async def probe() -> float:
        assert (await client.get("/healthz")).status_code == 200
        return time.perf_counter() - started

    async def guarded() -> httpx.Response:
        try:
            return await request
        except Exception as exc:  # raised through the in-process transport: a server error
            return httpx.Response(599, text=f"raised {exc!r}")

    response, waited = await asyncio.gather(guarded(), probe())
    return response, waited


def _json(value: Any) -> bytes:
    """JSON as a client may send it: lone surrogates escaped (orjson refuses them), NULs escaped."""
    import json

    return json.dumps(value).encode()


@pytest.mark.parametrize("service", ["intake", "dispatch", "feedback", "analytics"])
async def test_no_hostile_input_gets_a_server_error_and_every_read_still_answers(
        service: str, intake: IntakeApi, dispatch: DispatchApi, feedback: Any, analytics: Any):
    client = client_of(service, intake, dispatch, feedback, analytics)
    ids = await ids_of(service, intake, dispatch, feedback)
    failures = [f"{status_of(r)} {case}: {r.text[:200]}" async for case, r in corpus(client, ids)
                if r.status_code >= 500 or not names_what_is_wrong(r)]
    assert not failures, f"{len(failures)} server errors or stalls:\n" + "\n".join(failures[:60])
    # Whatever was accepted above, every read of the service still answers, for everyone.
    openapi = (await client.get("/openapi.json")).json()
    for op in h.operations(openapi):
        if op.method == "GET" and not op.path.startswith(("/metrics", "/readyz")):
            response = await client.get(op.url(ids), headers=ADMIN)
            assert response.status_code < 500, f"GET {op.path} after the corpus: {response.status_code} {response.text}"


def names_what_is_wrong(response: httpx.Response) -> bool:
    """A refusal of input is problem details, and a 422 or 413 names the field."""
    if response.status_code < 400:
        return True
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return False
    if response.status_code in (413, 422):
        return all(e.get("field") for e in response.json().get("errors", [{}]))
    return True


def status_of(response: httpx.Response) -> str:
    return f"[{response.status_code}]"


async def test_a_customer_nulling_the_title_is_refused_and_the_desk_queues_still_answer(intake: IntakeApi):
    """Defect 1's reproduction, exactly."""
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    created = await intake.created(customer={"id": customer, "name": "Ada"})
    response = await intake.client.patch(f"/v1/requests/{created['id']}", json={"title": None, "reason": "x"},
                                         headers=as_role(Role.customer, customer))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["title"]
    for path in ("/v1/queues/triage", "/v1/queues/awaiting-response", "/v1/requests"):
        assert (await intake.get(path)).status_code == 200, path
    assert (await intake.submit(Role.customer, customer, customer={"id": customer, "name": "Ada"})).status_code == 201


@pytest.mark.parametrize("field", ["capacity", "name", "skills"])
async def test_nulling_a_required_field_of_a_resource_is_refused_naming_it(dispatch: DispatchApi, field: str):
    resource = await dispatch.resource("printers")
    response = await dispatch.call("PATCH", f"/v1/resources/{resource['id']}", json={field: None, "reason": "x"})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert (await dispatch.call("GET", f"/v1/resources/{resource['id']}")).status_code == 200
    assert (await dispatch.call("GET", "/v1/resources")).status_code == 200
