"""One request end to end over HTTP, through the real service processes, broker and database."""
from __future__ import annotations

import time
from typing import Any, Callable

import httpx
import pytest

from shared.auth import Role
from shared.contracts import intake
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

REQUEST = {
    "customer": {"id": "cust-1", "name": "Ada Lovelace", "phone": "+44 20 7946 0000", "email": "ada@example.com"},
    "channel": "phone",
    "kind": "fault",
    "category": "fault > equipment > printer",
    "title": "Printer jams on every page",
    "description": "Since this morning the office printer jams on every page.",
    "urgency": "high",
    "impact": "medium",
    "location": "Floor 2",
}


def eventually(fetch: Callable[[], httpx.Response], ok: Callable[[httpx.Response], bool], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        response = fetch()
        if ok(response):
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s; last answer {response.status_code} {response.text}")
        time.sleep(0.1)


def archived(analyst: httpx.Client, request_id: str, fact: str, times: int = 1) -> None:
    """Analytics' timeline of the request has recorded the step, as often as it happened so far (a
    reopened request goes through some steps again)."""
    eventually(lambda: analyst.get(f"/v1/requests/{request_id}/timeline"),
               lambda r: r.status_code == 200 and [e["name"] for e in r.json()["events"]].count(fact) == times)


def test_a_submitted_request_is_triaged_gets_a_job_and_shows_in_the_timeline_in_order(stack: Stack):
    agent = stack.client("intake", Role.agent, "agent-7")
    created = agent.post("/v1/requests", json=REQUEST, headers={"X-Correlation-Id": "corr-e2e-1"})
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["status"] == "triaged" and request["priority"] == "P2"
    assert request["respond_by"] and request["resolve_by"] and request["owner"] == "agent-7"
    assert created.headers["x-correlation-id"] == "corr-e2e-1"
    assert agent.get(f"/v1/requests/{request['id']}").json()["version"] == 2

    dispatcher = stack.client("dispatch", Role.dispatcher)
    job = eventually(lambda: dispatcher.get(f"/v1/jobs/{request['id']}"), lambda r: r.status_code == 200)
    assert job["status"] == "open" and job["priority"] == "P2" and job["required_skills"] == ["equipment"]

    analyst = stack.client("analytics", Role.analyst)
    timeline = eventually(
        lambda: analyst.get(f"/v1/requests/{request['id']}/timeline"),
        lambda r: r.status_code == 200 and len(r.json()["events"]) == 3,
    )
    events = timeline["events"]
    assert [e["name"] for e in events] == ["RequestReceived", "RequestTriaged", "JobOpened"]
    assert [e["service"] for e in events] == ["intake", "intake", "dispatch"]
    assert {e["correlation_id"] for e in events} == {"corr-e2e-1"}
    assert events[2]["causation_id"] == events[1]["id"]
    assert events[0]["type"] == intake.registry.type_of_class(intake.RequestReceived)  # the current version
    # an analyst never sees who the customer is; an agent does
    assert events[0]["data"]["customer"]["name"] is None and events[0]["data"]["customer"]["id"] == "cust-1"
    assert {"customer.name", "customer.phone", "customer.email", "location"} <= set(events[0]["hidden"])
    seen_by_agent = stack.client("analytics", Role.agent).get(f"/v1/requests/{request['id']}/timeline").json()
    assert seen_by_agent["events"][0]["data"]["customer"]["name"] == "Ada Lovelace"
    assert seen_by_agent["events"][0]["hidden"] == []
    # and feedback knows whose request it is, with nothing yet to confirm
    customer = stack.client("feedback", Role.customer, REQUEST["customer"]["id"])
    closure = eventually(lambda: customer.get(f"/v1/requests/{request['id']}/closure"), lambda r: r.status_code == 200)
    assert closure["status"] == "open"


def test_a_retried_submit_with_an_idempotency_key_returns_the_first_answer_and_records_once(stack: Stack):
    agent = stack.client("intake", Role.agent)
    headers = {"Idempotency-Key": "retry-1"}
    first = agent.post("/v1/requests", json=REQUEST, headers=headers)
    again = agent.post("/v1/requests", json=REQUEST, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = agent.post("/v1/requests", json={**REQUEST, "title": "Another"}, headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    analyst = stack.client("analytics", Role.analyst)
    timeline = eventually(
        lambda: analyst.get(f"/v1/requests/{first.json()['id']}/timeline"),
        lambda r: r.status_code == 200 and len(r.json()["events"]) >= 3,
    )
    time.sleep(0.5)
    names = [e["name"] for e in analyst.get(f"/v1/requests/{first.json()['id']}/timeline").json()["events"]]
    assert names == ["RequestReceived", "RequestTriaged", "JobOpened"], timeline


def test_every_service_reports_health_readiness_metrics_and_openapi(stack: Stack):
    for name, url in stack.urls.items():
        assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
        ready = httpx.get(f"{url}/readyz").json()
        assert ready == {"status": "ready", "checks": {"database": True, "broker": True}}, name
        assert "servicetrail_http_request_seconds" in httpx.get(f"{url}/metrics").text or name
        assert httpx.get(f"{url}/openapi.json").status_code == 200


def test_calls_without_a_valid_token_are_refused_and_bad_input_names_the_field(stack: Stack):
    url = stack.urls["intake"]
    assert httpx.post(f"{url}/v1/requests", json=REQUEST).status_code == 401
    assert httpx.get(f"{url}/v1/requests/x", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    analyst = stack.client("intake", Role.analyst)
    assert analyst.post("/v1/requests", json=REQUEST).status_code == 403
    agent = stack.client("intake", Role.agent)
    bad = agent.post("/v1/requests", json={**REQUEST, "urgency": "extreme"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["field"] == "urgency"
    assert agent.get("/v1/requests/does-not-exist").status_code == 404


def test_a_job_is_allocated_worked_and_resolved_and_the_timeline_tells_it_all(stack: Stack):
    dispatcher = stack.client("dispatch", Role.dispatcher)
    skill = f"e2e{time.monotonic_ns()}"
    resource = dispatcher.post("/v1/resources", json={"id": f"tech-{skill}", "name": "Grace", "capacity": 20,
                                                      "skills": [{"name": "repair", "level": 4}]})
    assert resource.status_code == 201, resource.text
    agent = stack.client("intake", Role.agent)
    created = agent.post("/v1/requests", json={**REQUEST, "category": None, "kind": "fault"})
    request_id = created.json()["id"]
    # no category: the job needs the kind's skill, "repair", and is given at once to who has it
    job = eventually(lambda: dispatcher.get(f"/v1/jobs/{request_id}"),
                     lambda r: r.status_code == 200 and r.json()["status"] == "allocated")
    technician = stack.client("dispatch", Role.technician, job["resource_id"])
    analyst = stack.client("analytics", Role.analyst)

    customer = stack.client("feedback", Role.customer, REQUEST["customer"]["id"])

    def closure_is(status: str) -> None:
        eventually(lambda: customer.get(f"/v1/requests/{request_id}/closure"),
                   lambda r: r.status_code == 200 and r.json()["status"] == status)

    # At every step, intake (the lifecycle), dispatch (the job), feedback (the closure: open until
    # the work is resolved) and analytics (the archive) say the same about the request.
    eventually(lambda: agent.get(f"/v1/requests/{request_id}"), lambda r: r.json()["status"] == "allocated")
    archived(analyst, request_id, "ResourceAllocated")
    closure_is("open")
    for action, body, state, fact, closure in (
            ("start", None, "in_progress", "WorkStarted", "open"),
            ("resolve", {"resolution_code": "fixed", "summary": "cleared the jam"}, "resolved", "IssueResolved",
             "awaiting_confirmation")):
        response = technician.post(f"/v1/jobs/{request_id}/{action}", json=body)
        assert response.status_code == 200 and response.json()["status"] == state, response.text
        eventually(lambda: agent.get(f"/v1/requests/{request_id}"), lambda r: r.json()["status"] == state)  # noqa: B023
        listed = agent.get("/v1/requests", params={"status": state}).json()["items"]
        assert request_id in [i["id"] for i in listed], state
        assert dispatcher.get(f"/v1/jobs/{request_id}").json()["status"] == state
        archived(analyst, request_id, fact)
        closure_is(closure)
    timeline = eventually(
        lambda: analyst.get(f"/v1/requests/{request_id}/timeline"),
        lambda r: r.status_code == 200 and "IssueResolved" in [e["name"] for e in r.json()["events"]],
    )
    names = [e["name"] for e in timeline["events"]]
    # Intake's RequestProgressed follow their causes; feedback's ConfirmationRequested may follow.
    assert [n for n in names if n != "RequestProgressed"][:6] == [
        "RequestReceived", "RequestTriaged", "JobOpened", "ResourceAllocated", "WorkStarted", "IssueResolved"]
    assert names.index("ResourceAllocated") < names.index("RequestProgressed")


def test_reject_reopen_reallocate_resolve_confirm_close_and_survey_all_show_in_the_timeline(stack: Stack):
    skill = f"loop{time.monotonic_ns()}"
    dispatcher = stack.client("dispatch", Role.dispatcher)
    tech_id = f"tech-{skill}"
    assert dispatcher.post("/v1/resources", json={"id": tech_id, "name": "Alan", "capacity": 20,
                                                  "skills": ["repair"]}).status_code == 201
    customer_id = f"cust-{skill}"
    body = {**REQUEST, "customer": {**REQUEST["customer"], "id": customer_id}, "category": None}
    intake = stack.client("intake", Role.agent)
    request_id = intake.post("/v1/requests", json=body).json()["id"]
    customer = stack.client("feedback", Role.customer, customer_id)
    analyst = stack.client("analytics", Role.analyst)
    # Earlier tests' technicians have "repair" too: whoever dispatch picks first is who it goes back to.
    resolver = eventually(lambda: dispatcher.get(f"/v1/jobs/{request_id}"),
                          lambda r: r.status_code == 200 and r.json()["status"] == "allocated")["resource_id"]
    technician = stack.client("dispatch", Role.technician, resolver)

    def the_four_say(status: str, reopens: int, job: str, closure: dict[str, Any], facts: dict[str, int]) -> None:
        """What intake (the lifecycle), dispatch (the job, which keeps its resource once resolved: who
        resolved it), feedback (the closure) and analytics (the archive, each fact as often as it
        happened so far) say about the request at one step."""
        eventually(lambda: intake.get(f"/v1/requests/{request_id}"),
                   lambda r: (r.json()["status"], r.json()["reopen_count"]) == (status, reopens))
        eventually(lambda: dispatcher.get(f"/v1/jobs/{request_id}"),
                   lambda r: (r.json()["status"], r.json()["resource_id"]) == (job, resolver))
        eventually(lambda: customer.get(f"/v1/requests/{request_id}/closure"),
                   lambda r: r.status_code == 200 and {k: r.json()[k] for k in closure} == closure)
        for fact, times in facts.items():
            archived(analyst, request_id, fact, times)

    def closing(status: str, rejections: int, survey_sent: bool = False, survey_returned: bool = False) -> dict[str, Any]:
        return {"status": status, "rejections": rejections, "survey_sent": survey_sent,
                "survey_returned": survey_returned}

    def work_to_resolution(round_: int) -> None:
        reopens = round_ - 1
        for action, payload, state, waiting, facts in (
                ("start", None, "in_progress", "open", {"WorkStarted": round_}),
                ("resolve", {"resolution_code": "fixed", "summary": f"try {round_}"}, "resolved",
                 "awaiting_confirmation", {"IssueResolved": round_, "ConfirmationRequested": round_})):
            response = technician.post(f"/v1/jobs/{request_id}/{action}", json=payload)
            assert response.status_code == 200 and response.json()["status"] == state, response.text
            the_four_say(state, reopens, state, closing(waiting, reopens), facts)

    # Nothing to confirm yet: feedback's closure of the request is open.
    the_four_say("allocated", 0, "allocated", closing("open", 0), {"ResourceAllocated": 1})
    work_to_resolution(1)

    rejected = customer.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": False, "reason": "still jams"})
    assert rejected.status_code == 200, rejected.text
    assert {k: rejected.json()[k] for k in ("status", "rejections")} == {"status": "open", "rejections": 1}
    # Dispatch gives the reopened job out again in the transaction that reopens it, so intake may
    # already have followed the new allocation when it is first read: the count and the archive
    # show it went through reopened.
    eventually(lambda: intake.get(f"/v1/requests/{request_id}"),
               lambda r: r.json()["reopen_count"] == 1 and r.json()["status"] in ("reopened", "allocated"))
    for fact in ("ResolutionRejected", "RequestReopened", "JobReopened"):
        archived(analyst, request_id, fact)
    # Back to who resolved it (they still have the skill and a free slot).
    the_four_say("allocated", 1, "allocated", closing("open", 1), {"ResourceAllocated": 2})
    work_to_resolution(2)

    confirmed = customer.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": True})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "closed", confirmed.text
    # The job's lifecycle ends at resolved: closing is the request's, not the job's.
    the_four_say("closed", 1, "resolved", closing("closed", 1, survey_sent=True),
                 {"ResolutionConfirmed": 1, "RequestClosed": 1, "SurveySent": 1})
    refused = intake.post(f"/v1/requests/{request_id}/triage", json={"urgency": "high", "impact": "high", "reason": "x"})
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]  # symptom 2, across the services
    link = customer.get(f"/v1/requests/{request_id}/survey").json()
    survey = httpx.post(f"{stack.urls['feedback']}/v1/surveys/{link['token']}",
                        json={"csat": 5, "nps": 9, "dimensions": {"empathy": 5}, "comment": "thanks"})
    assert survey.status_code == 201, survey.text
    the_four_say("closed", 1, "resolved", closing("closed", 1, survey_sent=True, survey_returned=True),
                 {"SurveyReturned": 1})
    again = httpx.post(f"{stack.urls['feedback']}/v1/surveys/{link['token']}", json={"csat": 1})
    assert again.status_code == 409

    timeline = eventually(lambda: analyst.get(f"/v1/requests/{request_id}/timeline"),
                          lambda r: r.status_code == 200 and "SurveyReturned" in [e["name"] for e in r.json()["events"]])
    names = [e["name"] for e in timeline["events"]]
    for step in ("RequestReceived", "JobOpened", "IssueResolved", "ConfirmationRequested", "ResolutionRejected",
                 "RequestReopened", "JobReopened", "ResolutionConfirmed", "RequestClosed", "SurveySent", "SurveyReturned"):
        assert step in names, (step, names)
    assert names.index("ResolutionRejected") < names.index("RequestReopened") < names.index("ResolutionConfirmed")
    assert names.count("IssueResolved") == 2

    # The reports know it too (other tests' requests share these services, hence "at least").
    def staff_row(r: httpx.Response) -> dict[str, Any] | None:
        rows = r.json()["rows"] if r.status_code == 200 else []
        return next((row for row in rows if row["group"] == resolver), None)
    staff = eventually(lambda: analyst.get("/v1/reports/staff", params={"group_by": "resource"}),
                       lambda r: (row := staff_row(r)) is not None and row["reopen_rate"])
    row = next(row for row in staff["rows"] if row["group"] == resolver)
    assert row["resolved"] >= 1 and row["reopen_rate"] > 0 and row["csat_avg"] is not None
    csv = analyst.get("/v1/reports/satisfaction", headers={"Accept": "text/csv"})
    assert csv.status_code == 200 and csv.text.startswith("group,surveys,csat_avg")
