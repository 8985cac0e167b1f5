"""Blue-green rebuilds: a new read-model version built beside the live one equals it, row for row."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.auth import Role
from tests.api.analytics_support import AnalyticsApi, analytics_app
from tests.support.app import as_role
from tests.support.generated import generate
from tests.support.waiting import until

START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
NOW = START + timedelta(days=40)


@pytest.fixture(scope="module")
async def analytics(settings_for, broker):  # noqa: ANN001
    # Tiny batches: the live version folds events as they trickle in, in many small transactions.
    history = generate(150, seed=11, start=START, resources=8, spread=timedelta(days=30))
    async with analytics_app(settings_for, broker.bootstrap, NOW, read_model_batch_size=7,
                             read_model_flush_every=7) as api:
        await api.publish(history)
        await api.caught_up(len(history.envelopes), timeout=60)
        api.events = len(history.envelopes)  # type: ignore[attr-defined]
        yield api


async def checksum(api: AnalyticsApi, version: int) -> dict:
    response = await api.get(f"/v1/read-models/{version}/checksum", Role.admin)
    assert response.status_code == 200, response.text
    return response.json()


async def live_version(api: AnalyticsApi) -> int:
    return next(v["version"] for v in await api.versions() if v["status"] == "live")


async def test_a_rebuilt_version_equals_the_live_one_and_replaces_it(analytics):
    before = await live_version(analytics)
    live = await checksum(analytics, before)
    reports = {name: await analytics.report(name, group_by="month") for name in ("sla", "stages", "staff")}

    response = await analytics.client.post("/v1/read-models/rebuild", headers=as_role(Role.admin))
    assert response.status_code == 202, response.text
    rebuilt = response.json()["version"]
    assert rebuilt == before + 1

    async def switched() -> bool:
        return await live_version(analytics) == rebuilt
    await until(switched, 60)
    after = await checksum(analytics, rebuilt)
    assert after["position"] == live["position"] == analytics.events
    assert after["checksum"] == live["checksum"]
    assert {name: await analytics.report(name, group_by="month") for name in reports} == reports
    statuses = {v["version"]: v["status"] for v in await analytics.versions()}
    assert statuses[before] in ("retired", "dropped")


async def test_rebuild_progress_is_reported_per_version(analytics):
    versions = await analytics.versions()
    live = next(v for v in versions if v["status"] == "live")
    assert live["position"] == live["head"] == analytics.events and live["progress"] == 1.0


async def test_only_admins_may_rebuild(analytics):
    for role in (Role.analyst, Role.dispatcher, Role.agent):
        response = await analytics.client.post("/v1/read-models/rebuild", headers=as_role(role))
        assert response.status_code == 403


async def test_a_dropped_or_unknown_version_has_no_checksum(analytics):
    assert (await analytics.get("/v1/read-models/999/checksum", Role.admin)).status_code == 404
