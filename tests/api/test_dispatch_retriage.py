"""Issue 12, symptom 3: a re-triage reaches dispatch whole. Fed the RequestTriaged records intake's
own code writes, the job follows the newest one: priority, category and skills (so the people with
the new skills get it), the calendar and both deadlines, in both directions between two calendars."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest

from services.intake.domain.priority import Level
from shared.envelope import Envelope
from tests.api.dispatch_support import DispatchApi, IntakeDesk
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
UTC = timezone.utc
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def unique_area() -> str:
    return f"area{uuid.uuid4().hex[:8]}"


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def clock_of(job: dict[str, Any], name: str) -> tuple[int, datetime]:
    clock = job["clocks"][name]
    return clock["budget_seconds"], instant(clock["deadline"])


async def followed(dispatch: DispatchApi, request_id: str, priority: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def ready() -> bool:
        found.update((await dispatch.call("GET", f"/v1/jobs/{request_id}")).json())
        return found.get("priority") == priority

    await until(ready, timeout=30)
    return found


async def test_a_retriage_to_p1_in_another_category_is_followed_whole_and_the_job_goes_to_the_new_skill(
        dispatch: DispatchApi):
    old, new = unique_area(), unique_area()
    desk = IntakeDesk(dispatch, old, new)
    dispatch.clock.set(datetime(2026, 3, 2, 16, 38, 38, tzinfo=UTC))  # Monday, business hours end at 17:00
    request = await desk.submit(old, Level.medium, Level.medium)  # P3, on business hours
    job = await dispatch.job(request.id, "open")  # nobody has the skill `old`
    assert (job["priority"], job["required_skills"], clock_of(job, "response")[0]) == ("P3", [old], 8 * 3600)
    tech = await dispatch.resource(new)

    dispatch.clock.advance(minutes=1)
    triaged = await desk.retriage(request, "water over the server room", new, Level.high, Level.high)

    # Before: the job kept `old` and stayed open, and its clocks business hours: 1,282 s to 17:00.
    job = await dispatch.job(request.id, "allocated")
    assert (job["priority"], job["category"], job["required_skills"]) == ("P1", f"fault > {new} > x", [new])
    assert (job["resource_id"], job["escalation"]) == (tech["id"], "team_lead")
    assert clock_of(job, "response") == (3_600, triaged.respond_by)
    assert clock_of(job, "resolution") == (14_400, triaged.resolve_by)
    assert triaged.resolve_by == datetime(2026, 3, 2, 20, 38, 38, tzinfo=UTC)
    assert (instant(job["respond_by"]), instant(job["resolve_by"])) == (triaged.respond_by, triaged.resolve_by)
    d = dispatch.app.state.dispatch
    async with d.db.connect() as conn:
        (row,) = await d.tables.job_rows(conn, "WHERE request_id = $1", request.id)
    assert (row["priority"], row["required_skills"], row["resource_id"]) == ("P1", [new], tech["id"])


async def test_a_retriage_from_p1_to_p2_moves_a_held_job_onto_business_hours(dispatch: DispatchApi):
    area = unique_area()
    desk = IntakeDesk(dispatch, area)
    dispatch.clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # Monday
    tech = await dispatch.resource(area)
    request = await desk.submit(area, Level.high, Level.high)  # P1, round the clock
    job = await dispatch.job(request.id, "allocated")
    assert clock_of(job, "response") == (3_600, datetime(2026, 3, 2, 15, 0, tzinfo=UTC))

    dispatch.clock.advance(minutes=30)
    triaged = await desk.retriage(request, "one printer of three", impact=Level.medium)  # P2

    # Before: the 24x7 calendar was kept: 72,000 s (20 h round the clock) instead of 14,400.
    job = await followed(dispatch, request.id, "P2")
    assert clock_of(job, "response") == (14_400, triaged.respond_by) == (14_400, datetime(2026, 3, 3, 10, tzinfo=UTC))
    assert clock_of(job, "resolution") == (28_800, triaged.resolve_by) == (28_800, datetime(2026, 3, 3, 14, tzinfo=UTC))
    assert (job["status"], job["resource_id"], job["required_skills"]) == ("allocated", tech["id"], [area])


async def test_a_stored_v1_job_reprioritised_still_folds_keeping_category_skills_and_calendar(dispatch: DispatchApi):
    area = unique_area()
    desk = IntakeDesk(dispatch, area)
    dispatch.clock.set(MONDAY_10)
    request = await desk.submit(area, Level.medium, Level.medium)  # P3, on business hours
    job = await dispatch.job(request.id, "open")
    d = dispatch.app.state.dispatch
    v1 = Envelope(
        id=str(uuid.uuid4()), source="/servicetrail/dispatch", type="servicetrail.dispatch.JobReprioritised.v1",
        subject=request.id, time=MONDAY_10, stream_id="", stream_version=0, correlation_id=str(uuid.uuid4()),
        causation_id=None, data={"request_id": request.id, "priority": "P2", "emergency": False,
                                 "respond_by": "2026-03-02T14:00:00+00:00", "resolve_by": "2026-03-03T10:00:00+00:00",
                                 "reprioritised_at": "2026-03-02T10:00:00+00:00"})
    async with d.db.begin() as conn:  # as an older dispatch wrote it
        await d.jobs.store.append(conn, d.jobs.stream_id(request.id), [v1], job["version"])

    job = (await dispatch.call("GET", f"/v1/jobs/{request.id}")).json()

    assert (job["priority"], job["category"], job["required_skills"]) == ("P2", f"fault > {area} > x", [area])
    assert clock_of(job, "response") == (4 * 3600, datetime(2026, 3, 2, 14, tzinfo=UTC))  # still business hours
    assert clock_of(job, "resolution") == (8 * 3600, datetime(2026, 3, 3, 10, tzinfo=UTC))
    assert job["version"] == 2
