"""Dispatch over HTTP and through the broker, against real PostgreSQL: resources, allocation,
work, SLA clocks and escalation."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared.auth import Role
from tests.api.dispatch_support import MONDAY_10, DispatchApi
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def unique_skill() -> str:
    return f"skill{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def reset_clock(request: pytest.FixtureRequest) -> None:
    if "dispatch" in request.fixturenames:
        request.getfixturevalue("dispatch").clock.set(MONDAY_10)


async def test_a_triaged_request_opens_a_job_given_at_once_to_the_best_free_resource(dispatch: DispatchApi):
    skill = unique_skill()
    weak = await dispatch.resource(skill, skills=[{"name": skill, "level": 1}])
    strong = await dispatch.resource(skill, skills=[{"name": skill, "level": 5}])
    request_id = await dispatch.triage(skill)
    job = await dispatch.job(request_id, "allocated")
    assert job["resource_id"] == strong["id"] != weak["id"]
    assert job["required_skills"] == [skill] and job["clocks"]["response"]["status"] == "running"
    read = await dispatch.call("GET", f"/v1/resources/{strong['id']}")
    assert read.json()["load"] == 1


async def test_a_job_waits_when_nobody_is_free_and_is_allocated_when_a_slot_opens(dispatch: DispatchApi):
    skill = unique_skill()
    tech = await dispatch.resource(skill, capacity=1)
    first = await dispatch.job(await dispatch.triage(skill), "allocated")
    second_id = await dispatch.triage(skill)
    second = await dispatch.job(second_id, "open")
    assert second["resource_id"] is None
    queue = (await dispatch.call("GET", "/v1/queues/unallocated")).json()
    assert second_id in [j["request_id"] for j in queue]
    for action, body in (("start", None), ("resolve", {"resolution_code": "fixed", "summary": "new fuser"})):
        response = await dispatch.call("POST", f"/v1/jobs/{first['request_id']}/{action}", Role.technician,
                                        tech["id"], json=body)
        assert response.status_code == 200, response.text
    assert (await dispatch.job(second_id, "allocated"))["resource_id"] == tech["id"]


async def test_a_technician_works_a_job_through_pause_and_resume_to_resolution(dispatch: DispatchApi):
    skill = unique_skill()
    tech = await dispatch.resource(skill)
    request_id = await dispatch.triage(skill)
    await dispatch.job(request_id, "allocated")
    as_tech = {"role": Role.technician, "subject": tech["id"]}
    assert (await dispatch.call("POST", f"/v1/jobs/{request_id}/resolve", **as_tech,
                                json={"resolution_code": "x", "summary": "y"})).status_code == 409
    for action, body, status in (("accept", None, "accepted"), ("start", None, "in_progress"),
                                 ("notes", {"note": "ordered a part", "milestone": "diagnosed"}, "in_progress"),
                                 ("pause", {"waiting_on": "parts"}, "paused"), ("resume", None, "in_progress"),
                                 ("resolve", {"resolution_code": "replaced", "summary": "replaced the fuser"}, "resolved")):
        dispatch.clock.advance(minutes=30)
        response = await dispatch.call("POST", f"/v1/jobs/{request_id}/{action}", **as_tech, json=body)
        assert response.status_code == 200, (action, response.text)
        assert response.json()["status"] == status
    clocks = response.json()["clocks"]
    # Nobody acknowledged it: the first response is still owed, 3 h into its 4 (test_dispatch_response.py).
    assert clocks["response"]["status"] == "warning" and clocks["resolution"]["status"] == "met"
    assert clocks["resolution"]["used_seconds"] == 150 * 60  # 3 h elapsed less the 30 min paused


async def test_a_technician_sees_only_their_own_jobs_and_customers_nothing(dispatch: DispatchApi):
    skill = unique_skill()
    await dispatch.resource(skill)
    request_id = await dispatch.triage(skill)
    await dispatch.job(request_id, "allocated")
    other = await dispatch.call("GET", f"/v1/jobs/{request_id}", Role.technician, "someone-else")
    assert other.status_code == 404
    assert (await dispatch.call("POST", f"/v1/jobs/{request_id}/start", Role.technician, "someone-else")).status_code == 404
    assert (await dispatch.call("GET", f"/v1/jobs/{request_id}", Role.customer)).status_code == 403
    assert (await dispatch.call("POST", "/v1/resources", Role.technician, json={})).status_code == 403


async def test_a_declined_job_goes_to_someone_else(dispatch: DispatchApi):
    skill = unique_skill()
    first, second = await dispatch.resource(skill), await dispatch.resource(skill)
    request_id = await dispatch.triage(skill)
    holder = (await dispatch.job(request_id, "allocated"))["resource_id"]
    other = second["id"] if holder == first["id"] else first["id"]
    response = await dispatch.call("POST", f"/v1/jobs/{request_id}/decline", Role.technician, holder,
                                   json={"reason": "not my area"})
    assert response.status_code == 200 and response.json()["resource_id"] == other
    assert response.json()["declined_by"] == [holder]
    loads = {r["id"]: r["load"] for r in (await dispatch.call("GET", "/v1/resources")).json()}
    assert (loads[holder], loads[other]) == (0, 1)


async def test_a_dispatcher_reassigns_and_a_partner_needs_approval_first(dispatch: DispatchApi):
    skill = unique_skill()
    tech = await dispatch.resource(skill)
    partner = await dispatch.resource(skill, kind="partner", capacity=5)
    request_id = await dispatch.triage(skill)
    assert (await dispatch.job(request_id, "allocated"))["resource_id"] == tech["id"]  # partners never auto-allocated
    requested = await dispatch.call("POST", f"/v1/jobs/{request_id}/allocate",
                                    json={"resource_id": partner["id"], "reason": "needs the vendor"})
    assert requested.status_code == 200 and requested.json()["status"] == "awaiting_approval"
    approved = await dispatch.call("POST", f"/v1/jobs/{request_id}/approve")
    assert approved.json()["status"] == "allocated" and approved.json()["resource_id"] == partner["id"]
    loads = {r["id"]: r["load"] for r in (await dispatch.call("GET", "/v1/resources")).json()}
    assert (loads[tech["id"]], loads[partner["id"]]) == (0, 1)
    assert (await dispatch.call("POST", f"/v1/jobs/{request_id}/approve")).status_code == 409


async def test_invalid_commands_are_clear_4xx(dispatch: DispatchApi):
    skill = unique_skill()
    tech = await dispatch.resource(skill, capacity=2)
    bad = await dispatch.call("POST", "/v1/resources", json={"name": "x", "skills": [], "capacity": 0})
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {"skills", "capacity"}
    assert (await dispatch.call("POST", "/v1/resources", json={"id": tech["id"], "name": "again", "skills": [skill],
                                                                "capacity": 1})).status_code == 409
    request_id = await dispatch.triage(skill)
    await dispatch.job(request_id, "allocated")
    shrink = await dispatch.call("PATCH", f"/v1/resources/{tech['id']}", json={"capacity": 0, "reason": "x"})
    assert shrink.status_code == 422
    scarce = unique_skill()
    full = await dispatch.resource(scarce, capacity=1)
    await dispatch.job(await dispatch.triage(scarce), "allocated")  # takes full's only slot
    waiting = await dispatch.triage(scarce)
    await dispatch.job(waiting, "open")
    again = await dispatch.call("POST", f"/v1/jobs/{waiting}/allocate", json={"resource_id": full["id"], "reason": "x"})
    assert again.status_code == 409 and "capacity" in again.json()["detail"]
    assert (await dispatch.call("POST", "/v1/jobs/nope/start")).status_code == 404
    assert (await dispatch.call("POST", f"/v1/jobs/{request_id}/allocate",
                                json={"resource_id": "ghost", "reason": "x"})).status_code == 404


async def test_sla_warning_and_breach_fire_once_and_escalate(dispatch: DispatchApi):
    skill = unique_skill()
    request_id = await dispatch.triage(skill, respond=timedelta(hours=4))  # nobody has this skill: stays open
    await dispatch.job(request_id, "open")
    dispatch.clock.advance(hours=3, minutes=1)  # past 75 % of 4 h
    scheduler = dispatch.app.state.scheduler
    await scheduler.run_once()  # or the background loop does, holding the timer meanwhile: hence `escalated`
    job = await escalated(dispatch, request_id, "team_lead")
    assert job["clocks"]["response"]["status"] == "warning"
    dispatch.clock.advance(hours=1)
    await scheduler.run_once()
    job = await escalated(dispatch, request_id, "manager")
    assert job["clocks"]["response"]["status"] == "breached"
    names = await stored_names(dispatch, request_id)
    assert names.count("SlaWarning") == 1 and names.count("SlaBreached") == 1
    at_risk = (await dispatch.call("GET", "/v1/queues/at-risk")).json()
    assert request_id in [j["request_id"] for j in at_risk]


async def escalated(dispatch: DispatchApi, request_id: str, level: str) -> dict:
    found: dict = {}

    async def reached() -> bool:
        found.update((await dispatch.call("GET", f"/v1/jobs/{request_id}")).json())
        return found["escalation"] == level

    await until(reached, timeout=30)
    return found


async def test_a_p1_escalates_at_once_and_again_when_unallocated_for_five_minutes(dispatch: DispatchApi):
    request_id = await dispatch.triage(unique_skill(), priority="P1", respond=timedelta(hours=1))
    job = await dispatch.job(request_id, "open")
    assert job["escalation"] == "team_lead"
    dispatch.clock.advance(minutes=5, seconds=1)
    await dispatch.app.state.scheduler.run_once()
    await escalated(dispatch, request_id, "manager")
    triggers = [e.data["trigger"] for e in await stored(dispatch, request_id) if e.name == "JobEscalated"]
    assert triggers == ["p1", "p1_unallocated"]


async def test_a_paused_job_does_not_warn_until_resumed(dispatch: DispatchApi):
    skill = unique_skill()
    tech = await dispatch.resource(skill)
    # The response (intake's acknowledgement) never pauses: a long window keeps it out of the way.
    request_id = await dispatch.triage(skill, resolve=timedelta(hours=4), respond=timedelta(hours=40))
    await dispatch.job(request_id, "allocated")
    as_tech = {"role": Role.technician, "subject": tech["id"]}
    await dispatch.call("POST", f"/v1/jobs/{request_id}/start", **as_tech)
    await dispatch.call("POST", f"/v1/jobs/{request_id}/pause", **as_tech, json={"waiting_on": "customer"})
    dispatch.clock.advance(hours=10)
    await dispatch.app.state.scheduler.run_once()
    assert "SlaWarning" not in await stored_names(dispatch, request_id)
    await dispatch.call("POST", f"/v1/jobs/{request_id}/resume", **as_tech)
    dispatch.clock.advance(hours=3, minutes=1)
    await dispatch.app.state.scheduler.run_once()
    await until(lambda: warned(dispatch, request_id), timeout=30)
    warnings = [e.data["clock"] for e in await stored(dispatch, request_id) if e.name == "SlaWarning"]
    assert warnings == ["resolution"]


async def warned(dispatch: DispatchApi, request_id: str) -> bool:
    return "SlaWarning" in await stored_names(dispatch, request_id)


async def test_a_withdrawn_request_releases_its_job_and_frees_the_resource(dispatch: DispatchApi):
    skill = unique_skill()
    tech = await dispatch.resource(skill)
    request_id = await dispatch.triage(skill)
    await dispatch.job(request_id, "allocated")
    await dispatch.publish("RequestWithdrawn", request_id, {"request_id": request_id, "reason": "x",
                                                            "withdrawn_by": "c", "withdrawn_at": MONDAY_10.isoformat()}, 3)
    await dispatch.job(request_id, "released")
    assert (await dispatch.call("GET", f"/v1/resources/{tech['id']}")).json()["load"] == 0


async def stored(dispatch: DispatchApi, request_id: str):  # noqa: ANN201
    d = dispatch.app.state.dispatch
    async with d.db.connect() as conn:
        return await d.jobs.store.read_stream(conn, f"job-{request_id}")


async def stored_names(dispatch: DispatchApi, request_id: str) -> list[str]:
    return [e.name for e in await stored(dispatch, request_id)]


async def test_many_waiting_jobs_are_assigned_together_by_the_batch_strategy(dispatch: DispatchApi):
    skill = unique_skill()
    waiting = [await dispatch.triage(skill, priority=p) for p in ["P2", "P3", "P4"] * 4]
    for request_id in waiting:
        await dispatch.job(request_id, "open")
    for _ in range(12):
        await dispatch.resource(skill)
    for request_id in waiting:
        await dispatch.job(request_id, "allocated")
    allocations = [e for r in waiting for e in await stored(dispatch, r) if e.name == "ResourceAllocated"]
    # Resources arrive one at a time: the rounds with >= 10 jobs waiting go batch, the last ones greedy.
    strategies = [e.data["strategy"] for e in allocations]
    assert len(allocations) == 12 and strategies.count("batch") >= 3 and set(strategies) <= {"batch", "auto"}
    assert all(set(e.data["score"]) == {"total", "skill", "load", "zone"} for e in allocations)
    assert len({e.data["resource_id"] for e in allocations}) == 12


async def test_the_database_shortlist_ranks_resources_as_the_documented_score_does(dispatch: DispatchApi):
    import random

    from services.dispatch.domain.allocation import JobNeed, best_for
    from services.dispatch.service_layer.handlers import SHORTLIST, WEIGHTS, candidate

    rng = random.Random(7)
    skills = [unique_skill() for _ in range(3)]
    for _ in range(40):
        mine = rng.sample(skills, 2)
        await dispatch.resource(mine[0], capacity=rng.randint(1, 4), zone=rng.choice(["north", "south", None]),
                                skills=[{"name": s, "level": rng.randint(1, 5)} for s in mine])
    d = dispatch.app.state.dispatch
    now = dispatch.clock.now()
    for required in ([skills[0]], [skills[0], skills[1]], [skills[2]]):
        for zone, risk in (("north", 0.0), (None, 0.9)):
            wanted = JobNeed(id="x", priority="P3", required_skills=tuple(required), zone=zone, risk=risk)
            weights = (WEIGHTS.skill * (1 + WEIGHTS.risk_boost * risk), WEIGHTS.load, WEIGHTS.zone)
            async with d.db.connect() as conn:
                every = await d.tables.resource_rows(conn, "WHERE skills ?& $1::text[]", required)
                short = await d.tables.shortlist(conn, required, [], zone, weights, now, SHORTLIST, 0)
            exact = best_for(wanted, [candidate(r, now) for r in every])
            assert exact is not None and short[0]["id"] == exact.resource_id, (required, zone, risk)


async def test_a_resource_without_the_needed_skill_cannot_be_given_the_job(dispatch: DispatchApi):
    request_id = await dispatch.triage(unique_skill())
    await dispatch.job(request_id, "open")
    novice = await dispatch.resource(unique_skill())
    response = await dispatch.call("POST", f"/v1/jobs/{request_id}/allocate",
                                   json={"resource_id": novice["id"], "reason": "try"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "resource_id"
    assert "lacks the skills" in response.json()["detail"]


async def test_a_reopened_request_brings_its_job_back_and_allocates_it_again(dispatch: DispatchApi):
    skill = unique_skill()
    tech = await dispatch.resource(skill)
    request_id = await dispatch.triage(skill)
    await dispatch.job(request_id, "allocated")
    as_tech = {"role": Role.technician, "subject": tech["id"]}
    await dispatch.call("POST", f"/v1/jobs/{request_id}/start", **as_tech)
    await dispatch.call("POST", f"/v1/jobs/{request_id}/resolve", **as_tech,
                        json={"resolution_code": "fixed", "summary": "done"})
    await dispatch.publish("RequestReopened", request_id, {"request_id": request_id, "reason": "still broken",
                                                           "reopen_count": 1, "reopened_at": MONDAY_10.isoformat()}, 3)
    job = await dispatch.job(request_id, "allocated")
    assert job["resource_id"] == tech["id"] and job["clocks"]["resolution"]["status"] == "running"
    assert [e.name for e in await stored(dispatch, request_id)][-2:] == ["JobReopened", "ResourceAllocated"]


async def test_a_retriaged_request_moves_its_job_and_an_upgrade_to_p1_escalates(dispatch: DispatchApi):
    skill = unique_skill()
    request_id = await dispatch.triage(skill, priority="P4", respond=timedelta(hours=8), resolve=timedelta(hours=40))
    job = await dispatch.job(request_id, "open")
    assert job["priority"] == "P4" and job["escalation"] is None
    await dispatch.triage(skill, priority="P1", respond=timedelta(hours=1), resolve=timedelta(hours=4),
                          request_id=request_id, version=3)  # intake's re-triage comes later in its stream

    async def upgraded() -> bool:
        return (await dispatch.call("GET", f"/v1/jobs/{request_id}")).json()["priority"] == "P1"

    await until(upgraded, timeout=30)
    job = (await dispatch.call("GET", f"/v1/jobs/{request_id}")).json()
    assert job["escalation"] == "team_lead" and job["respond_by"] == "2026-03-02T11:00:00Z"
    assert job["clocks"]["response"]["budget_seconds"] == 3600
    queue = (await dispatch.call("GET", "/v1/queues/unallocated")).json()
    assert [q["priority"] for q in queue if q["request_id"] == request_id] == ["P1"]
    names = await stored_names(dispatch, request_id)
    assert names.count("JobReprioritised") == 1 and names[-1] == "JobEscalated"
