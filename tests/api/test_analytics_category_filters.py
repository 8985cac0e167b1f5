"""One category rule (issue 12, symptom 9): a category filter keeps the same requests in intake's
search and in every analytics report, whatever its case and spacing, and takes the whole branch.

Intake's real app receives the requests over HTTP and publishes them; analytics reads that app's
own topics, so both hold the same history. Dispatch's and feedback's later steps (resolved, a
survey, a complaint) are crafted on the same topics, so that the reports keyed on them (staff,
satisfaction, complaint items) have something to filter.
"""
from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator

import pytest

from services.intake.bootstrap import bootstrap as intake_bootstrap
from services.intake.settings import IntakeSettings
from shared.clock import FrozenClock
from shared.eventstore import EventStore
from tests.api.analytics_support import AnalyticsApi, analytics_app
from tests.api.conftest import MONDAY_10, IntakeApi
from tests.support.app import serving
from tests.support.history import History, Journey
from tests.support.kafka import produce
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=timezone.utc)  # the Wednesday after
SUBMITTED = ("Fault > Equipment > Printer", "fault > equipment > printer", "fault >equipment> computer",
             "fault > equipment", "fault > network > wifi", "consultation > billing", None)
FILTERS = {
    "fault > equipment": {"fault > equipment > printer": 2, "fault > equipment > computer": 1, "fault > equipment": 1},
    "FAULT > Equipment > printer": {"fault > equipment > printer": 2},
    " Fault>NETWORK ": {"fault > network > wifi": 1},
}


async def _total(api: AnalyticsApi, report: str, field: str) -> int:
    return (await api.report(report))["total"][field]


@pytest.fixture(scope="module")
async def services(settings_for, broker) -> AsyncIterator[tuple[IntakeApi, AnalyticsApi]]:  # noqa: ANN001
    prefix = f"cat{uuid.uuid4().hex[:8]}."
    settings = settings_for("intake", IntakeSettings, topic_prefix=prefix)
    clock = FrozenClock(MONDAY_10)
    async with serving(intake_bootstrap(settings, clock=clock)) as client, \
            analytics_app(settings_for, broker.bootstrap, NOW, topic_prefix=prefix) as analytics:
        intake = IntakeApi(client, clock, settings, EventStore(settings.schema_name, "intake"))
        ids = [(await intake.created(category=category))["id"] for category in SUBMITTED]
        n = len(ids)
        await until(lambda: _counted(analytics, n))
        later = History()
        later.resource("res-A", MONDAY_10, team="alpha")
        for request_id in ids:
            (Journey(later, request_id).resolved(MONDAY_10 + timedelta(hours=2), "res-A")
             .surveyed(MONDAY_10 + timedelta(hours=3), csat=4, nps=8))
            later.feedback(f"f-{request_id}", "complaint", MONDAY_10 + timedelta(hours=4),
                           respond_by=MONDAY_10 + timedelta(days=1), request_id=request_id)
        for topic, envelopes in later.by_topic(prefix).items():
            await produce(broker.bootstrap, topic, envelopes)

        async def all_followed() -> bool:
            return (await _total(analytics, "staff", "resolved"), await _total(analytics, "satisfaction", "surveys"),
                    await _total(analytics, "complaints", "complaints")) == (n, n, n)
        await until(all_followed)
        yield intake, analytics


async def _counted(api: AnalyticsApi, n: int) -> bool:
    response = await api.get("/v1/reports/sla")
    return response.status_code == 200 and response.json()["total"]["requests"] == n


async def _intake_counts(intake: IntakeApi, category: str) -> dict[str, int]:
    response = await intake.get("/v1/requests", params={"category": category, "limit": 500})
    assert response.status_code == 200, response.text
    return dict(Counter(item["category"] for item in response.json()["items"]))


def _by_group(body: dict[str, Any], field: str) -> dict[str, int]:
    return {r["group"]: r[field] for r in body["rows"] if r[field]}


@pytest.mark.parametrize("category", FILTERS)
async def test_a_category_filter_keeps_the_same_requests_in_intake_and_in_every_report(services, category):
    intake, analytics = services
    expected = FILTERS[category]
    assert await _intake_counts(intake, category) == expected

    def report(name: str, **params: Any) -> Any:
        return analytics.report(name, category=category, group_by="category", **params)

    seen = {
        "sla": _by_group(await report("sla"), "requests"),
        "stages": _by_group(await report("stages"), "requests"),
        "backlog": _by_group(await report("backlog"), "open"),
        "satisfaction": _by_group(await report("satisfaction"), "surveys"),
        "staff": _by_group(await report("staff"), "resolved"),
        "complaints (requests)": _by_group(await report("complaints"), "requests"),
        "complaints (items)": _by_group(await report("complaints"), "complaints"),
    }
    forecast = await analytics.report("forecast", category=category, days=7, history_days=7)
    monday = next(d for d in forecast["days"] if d["weekday"] == "Mon")
    seen["forecast (Monday)"] = {c: round(n) for c, n in monday["expected"].items() if n}
    assert seen == {name: expected for name in seen}


@pytest.mark.parametrize("category", ["fault > toaster", "fault > equip"])  # a name's prefix is no branch
async def test_an_unknown_category_is_refused_by_intake_and_matches_nothing_in_reports(services, category):
    # Analytics does not hold intake's configured tree: a category no request has keeps nothing.
    intake, analytics = services
    assert (await intake.get("/v1/requests", params={"category": category})).status_code == 422
    assert (await analytics.report("sla", category=category))["total"]["requests"] == 0
