"""Issue 12, symptom 5: after a rejected resolution the job goes back to the resource who resolved it
when the allocation rules let it (available, a free slot, the skills), else to whoever the usual
allocation picks, and the ResourceAllocated says which and why. Its resolution clock resumes: the
time used counts, the wait for the customer's confirmation is a pause. Fed the records intake's own
code writes (the triage, the progress it followed, the reopening)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.intake.domain.model import ServiceRequest
from services.intake.domain.priority import Level
from shared.auth import Role
from tests.api.dispatch_support import MONDAY_10, DispatchApi, IntakeDesk

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def unique_area() -> str:
    return f"reopen{uuid.uuid4().hex[:8]}"


async def work_and_resolve(dispatch: DispatchApi, desk: IntakeDesk, request: ServiceRequest, tech: str) -> None:
    """`tech` starts at 10:30 and resolves at 11:00: one hour of the P1's four used."""
    for action, body, minutes in (("start", None, 30), ("resolve", {"resolution_code": "fixed", "summary": "x"}, 30)):
        dispatch.clock.advance(minutes=minutes)
        response = await dispatch.call("POST", f"/v1/jobs/{request.id}/{action}", Role.technician, tech, json=body)
        assert response.status_code == 200, response.text
    await desk.follow(request, "dispatch.IssueResolved", tech)


async def allocations(dispatch: DispatchApi, request_id: str) -> list[dict[str, Any]]:
    d = dispatch.app.state.dispatch
    async with d.db.connect() as conn:
        stored = await d.jobs.store.read_stream(conn, f"job-{request_id}")
    return [e.data for e in stored if e.name == "ResourceAllocated"]


async def reopened_job(dispatch: DispatchApi, request_id: str) -> dict[str, Any]:
    job = await dispatch.job(request_id, "allocated")
    assert len(await allocations(dispatch, request_id)) == 2
    return job


async def test_a_reopened_job_goes_back_to_who_resolved_it_and_its_clock_resumes(dispatch: DispatchApi):
    area = unique_area()
    desk = IntakeDesk(dispatch, area)
    dispatch.clock.set(MONDAY_10)
    resolver = await dispatch.resource(area, skills=[{"name": area, "level": 3}])
    request = await desk.submit(area, Level.high, Level.high)  # P1: 4 h round the clock, resolve by 14:00
    assert request.triage is not None and request.triage.resolve_by == MONDAY_10 + timedelta(hours=4)
    await dispatch.job(request.id, "allocated")
    await work_and_resolve(dispatch, desk, request, resolver["id"])
    better = await dispatch.resource(area, skills=[{"name": area, "level": 5}])  # the usual rule would pick them

    dispatch.clock.advance(hours=2)  # two hours awaiting the customer's confirmation, then rejected at 13:00
    reopened = await desk.reject(request, "still jams")

    job = await reopened_job(dispatch, request.id)
    last = (await allocations(dispatch, request.id))[-1]
    # Before: it went to the better one, with a fresh 4 h from the reopening (deadline 17:00).
    assert (job["resource_id"], last["strategy"]) == (resolver["id"], "back_to_resolver") != (better["id"], "auto")
    assert last["reason"] == "reopened: back to who resolved it"
    resolution = job["clocks"]["resolution"]
    assert (resolution["status"], resolution["used_seconds"], resolution["budget_seconds"]) == ("running", 3600, 14_400)
    # Intake's resolve_by stands; dispatch's deadline is it plus the two hours awaiting confirmation.
    assert datetime.fromisoformat(job["resolve_by"]) == request.triage.resolve_by
    assert datetime.fromisoformat(resolution["deadline"]) == request.triage.resolve_by + timedelta(hours=2)
    assert reopened.rejected_at == MONDAY_10 + timedelta(hours=3)


@pytest.mark.parametrize("unavailable", ["off_duty", "full"])
async def test_when_who_resolved_it_cannot_take_it_the_usual_allocation_decides_and_says_why(
        dispatch: DispatchApi, unavailable: str):
    area = unique_area()
    desk = IntakeDesk(dispatch, area)
    dispatch.clock.set(MONDAY_10)
    resolver = await dispatch.resource(area, capacity=1)
    request = await desk.submit(area, Level.high, Level.high)
    await dispatch.job(request.id, "allocated")
    await work_and_resolve(dispatch, desk, request, resolver["id"])
    if unavailable == "off_duty":
        changed = await dispatch.call("POST", f"/v1/resources/{resolver['id']}/availability",
                                      json={"status": "off_duty", "reason": "shift over"})
        assert changed.status_code == 200, changed.text
        why = "is not available"
    else:
        other = await desk.submit(area, Level.high, Level.high)  # takes the resolver's only slot
        assert (await dispatch.job(other.id, "allocated"))["resource_id"] == resolver["id"]
        why = "has no free slot"
    someone = await dispatch.resource(area)

    await desk.reject(request, "still jams")

    job = await reopened_job(dispatch, request.id)
    last = (await allocations(dispatch, request.id))[-1]
    assert (job["resource_id"], last["strategy"]) == (someone["id"], "auto")
    assert last["reason"] == f"reopened: {resolver['id']}, who resolved it, {why}"
