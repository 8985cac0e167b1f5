"""Issue 12, symptom 6 (dispatch's side): the zone intake records on each RequestTriaged reaches the
job, and the allocation's `same_zone` term counts it. Fed the records intake's own code writes."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.intake.domain.priority import Level
from tests.api.dispatch_support import MONDAY_10, DispatchApi, IntakeDesk

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
ZONES = {"Floor 2": "north", "Depot": "south"}


def unique_area() -> str:
    return f"zone{uuid.uuid4().hex[:8]}"


async def allocation_of(dispatch: DispatchApi, request_id: str) -> dict[str, Any]:
    d = dispatch.app.state.dispatch
    async with d.db.connect() as conn:
        stored = await d.jobs.store.read_stream(conn, f"job-{request_id}")
    return next(e.data for e in reversed(stored) if e.name == "ResourceAllocated")


async def test_a_request_in_the_north_goes_to_the_equally_good_resource_in_the_north(dispatch: DispatchApi):
    area = unique_area()
    desk = IntakeDesk(dispatch, area, zones=ZONES)
    dispatch.clock.set(MONDAY_10)
    # Two resources alike in all but their zone; "a-..." sorts first, so a tie would go south.
    south = await dispatch.resource(area, id=f"a-{area}", zone="south")
    north = await dispatch.resource(area, id=f"b-{area}", zone="north")

    request = await desk.submit(area, Level.medium, Level.medium, location="Floor 2, room 12")

    # Before: the job had `zone: null`, the score `zone: 0.0`, and the tie went to the first id.
    job = await dispatch.job(request.id, "allocated")
    allocated = await allocation_of(dispatch, request.id)
    assert (allocated["resource_id"], allocated["score"]["zone"]) == (north["id"], 0.2) != (south["id"], 0.0)
    assert (job.get("zone"), job["resource_id"]) == ("north", north["id"])
    assert allocated["score"]["total"] == round(sum(allocated["score"][k] for k in ("skill", "load", "zone")), 4)


async def test_a_zone_named_by_the_client_counts_as_the_location_would(dispatch: DispatchApi):
    area = unique_area()
    desk = IntakeDesk(dispatch, area, zones=ZONES)
    await dispatch.resource(area, id=f"a-{area}", zone="north")
    south = await dispatch.resource(area, id=f"b-{area}", zone="south")

    request = await desk.submit(area, Level.medium, Level.medium, zone="south")

    job = await dispatch.job(request.id, "allocated")
    assert (job["resource_id"], job.get("zone")) == (south["id"], "south")


async def test_a_retriage_after_the_request_moved_takes_the_new_zone_into_the_job_its_row_and_allocation(
        dispatch: DispatchApi):
    old, new = unique_area(), unique_area()
    desk = IntakeDesk(dispatch, old, new, zones=ZONES)
    request = await desk.submit(old, Level.medium, Level.medium, location="Floor 2, room 12")  # nobody has `old`
    job = await dispatch.job(request.id, "open")
    assert job.get("zone") == "north"
    # Alike but for the zone; "a-..." sorts first, so a tie would go north.
    await dispatch.resource(new, id=f"a-{new}", zone="north")
    south = await dispatch.resource(new, id=f"b-{new}", zone="south")

    await desk.move(request, "Depot, bay 3", "the printer was taken to the depot")
    triaged = await desk.retriage(request, "it is a network fault, at the depot", new)
    assert triaged.zone == "south"

    # The job follows the new zone and is offered by it in the same transaction.
    job = await dispatch.job(request.id, "allocated")
    assert (job["zone"], job["resource_id"]) == ("south", south["id"])
    assert (await allocation_of(dispatch, request.id))["score"]["zone"] == 0.2
    d = dispatch.app.state.dispatch
    async with d.db.connect() as conn:
        (row,) = await d.tables.job_rows(conn, "WHERE request_id = $1", request.id)
    assert (row["zone"], row["resource_id"]) == ("south", south["id"])
