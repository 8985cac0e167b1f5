"""Issue 12, symptom 4 (dispatch's side): dispatch's response clock is intake's first response. It
stops at intake's RequestAcknowledged (not at WorkStarted) and agrees with intake's within_target;
its SlaWarning / SlaBreached "response" mean that response. Fed the records intake's code writes."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from services.intake.domain.priority import Level
from shared.auth import Role
from tests.api.dispatch_support import MONDAY_10, DispatchApi, IntakeDesk
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
UTC = timezone.utc


def unique_area() -> str:
    return f"resp{uuid.uuid4().hex[:8]}"


async def stored(dispatch: DispatchApi, request_id: str) -> list:
    d = dispatch.app.state.dispatch
    async with d.db.connect() as conn:
        return await d.jobs.store.read_stream(conn, f"job-{request_id}")


async def recorded(dispatch: DispatchApi, request_id: str, name: str) -> bool:
    return name in [e.name for e in await stored(dispatch, request_id)]


async def response_of(dispatch: DispatchApi, request_id: str, status: str) -> dict:
    found: dict = {}

    async def reached() -> bool:
        found.update((await dispatch.call("GET", f"/v1/jobs/{request_id}")).json()["clocks"]["response"])
        return found["status"] == status

    await until(reached, timeout=30)
    return found


async def test_work_started_before_anyone_answered_leaves_the_response_owed_until_intake_acknowledges(
        dispatch: DispatchApi):
    area = unique_area()
    desk = IntakeDesk(dispatch, area)
    dispatch.clock.set(MONDAY_10)
    tech = await dispatch.resource(area)
    request = await desk.submit(area, Level.high, Level.medium)  # P2: respond within 4 open hours, by 14:00
    assert request.triage is not None and request.triage.respond_by == datetime(2026, 3, 2, 14, tzinfo=UTC)
    await dispatch.job(request.id, "allocated")
    dispatch.clock.advance(minutes=30)
    started = await dispatch.call("POST", f"/v1/jobs/{request.id}/start", Role.technician, tech["id"])

    # Before: WorkStarted stopped the response clock and it said "met"; nobody had answered.
    assert started.json()["clocks"]["response"]["status"] == "running"
    dispatch.clock.advance(hours=3, minutes=31)  # 14:01: intake's respond_by has passed unanswered
    await dispatch.app.state.scheduler.run_once()
    await until(lambda: recorded(dispatch, request.id, "SlaBreached"), timeout=30)
    names = [e.name for e in await stored(dispatch, request.id)]
    assert names.count("SlaBreached") == 1 and names.count("SlaWarning") == 1
    breach = next(e for e in await stored(dispatch, request.id) if e.name == "SlaBreached")
    assert (breach.data["clock"], datetime.fromisoformat(breach.data["deadline"])) == ("response", request.triage.respond_by)

    dispatch.clock.advance(minutes=29)
    acknowledged = await desk.acknowledge(request)

    response = await response_of(dispatch, request.id, "missed")
    assert acknowledged.within_target is False  # intake and dispatch say the same
    assert datetime.fromisoformat(response["deadline"]) == acknowledged.respond_by
    stopped = [e for e in await stored(dispatch, request.id) if e.name == "ResponseClockStopped"]
    assert [(e.data["cause"], datetime.fromisoformat(e.data["stopped_at"])) for e in stopped] == [
        ("acknowledged", acknowledged.acknowledged_at)]


async def test_a_weekend_request_answered_on_monday_evening_is_in_time_for_both_and_never_breaches(
        dispatch: DispatchApi):
    area = unique_area()
    desk = IntakeDesk(dispatch, area)
    dispatch.clock.set(datetime(2026, 3, 7, 10, tzinfo=UTC))  # Saturday; nobody has the skill: the job waits
    request = await desk.submit(area, Level.medium, Level.medium)  # P3: one open day, so by Tuesday 09:00
    assert request.triage is not None and request.triage.respond_by == datetime(2026, 3, 10, 9, tzinfo=UTC)
    job = await dispatch.job(request.id, "open")
    # Before: its deadline was Monday 17:00, where the 8 open hours run out, and it breached there.
    assert datetime.fromisoformat(job["clocks"]["response"]["deadline"]) == request.triage.respond_by

    dispatch.clock.set(datetime(2026, 3, 9, 18, tzinfo=UTC))  # Monday evening
    await dispatch.app.state.scheduler.run_once()
    await until(lambda: recorded(dispatch, request.id, "SlaWarning"), timeout=30)
    acknowledged = await desk.acknowledge(request)

    await response_of(dispatch, request.id, "met")
    assert acknowledged.within_target is True
    names = [e.name for e in await stored(dispatch, request.id)]
    assert "SlaBreached" not in names and names.count("SlaWarning") == 1  # at risk from Monday 15:00


async def test_a_request_closed_before_anyone_answered_it_ends_the_response_clock_unanswered(dispatch: DispatchApi):
    area = unique_area()
    desk = IntakeDesk(dispatch, area)
    dispatch.clock.set(MONDAY_10)
    tech = await dispatch.resource(area)
    request = await desk.submit(area, Level.high, Level.medium)  # P2: respond by 14:00
    await dispatch.job(request.id, "allocated")
    for action, body in (("start", None), ("resolve", {"resolution_code": "fixed", "summary": "done"})):
        dispatch.clock.advance(minutes=20)
        assert (await dispatch.call("POST", f"/v1/jobs/{request.id}/{action}", Role.technician, tech["id"],
                                    json=body)).status_code == 200
    await desk.follow(request, "dispatch.IssueResolved", tech["id"])
    dispatch.clock.advance(minutes=20)
    await desk.follow(request, "feedback.RequestClosed")  # the customer confirmed at 11:00

    response = await response_of(dispatch, request.id, "unanswered")
    assert response["deadline"] is not None
    dispatch.clock.advance(hours=5)
    await dispatch.app.state.scheduler.run_once()
    assert "SlaBreached" not in [e.name for e in await stored(dispatch, request.id)]
