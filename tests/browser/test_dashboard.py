"""The dashboard in a real headless Chromium, against the real analytics service over HTTP."""
from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from services.analytics.bootstrap import bootstrap
from services.analytics.settings import AnalyticsSettings
from shared.auth import Role
from shared.clock import FrozenClock
from tests.support.app import as_role, serving_http
from tests.support.browser import chromium_available, render_dom
from tests.support.generated import generate
from tests.support.kafka import produce
from tests.support.waiting import until

pytestmark = pytest.mark.skipif(not chromium_available(), reason="Chromium is not installed (run `make browser`)")
START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
CHARTS = ("sla-chart", "backlog-chart", "stages-chart", "csat-chart")


@pytest.fixture(scope="module")
async def dashboard(settings_for, broker):  # noqa: ANN001
    settings = settings_for("analytics", AnalyticsSettings, topic_prefix=f"b{uuid.uuid4().hex[:8]}.")
    history = generate(120, seed=21, start=START, resources=6, spread=timedelta(days=30))
    app = bootstrap(settings, clock=FrozenClock(START + timedelta(days=29)))
    async with serving_http(app) as url:
        for topic, envelopes in history.by_topic(settings.topic_prefix).items():
            await produce(broker.bootstrap, topic, envelopes)
        async with httpx.AsyncClient(base_url=url, headers=as_role(Role.admin)) as client:
            async def caught_up() -> bool:
                live = [v for v in (await client.get("/v1/read-models")).json()["versions"] if v["status"] == "live"]
                return bool(live) and live[0]["position"] == len(history.envelopes)
            await until(caught_up, 60)
        yield url


def attribute(dom: str, element_id: str, name: str) -> str | None:
    tag = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', dom)
    found = tag and re.search(rf'\b{name}="([^"]*)"', tag.group(0))
    return found.group(1) if found else None


async def test_the_dashboard_draws_every_chart_and_the_staff_table(dashboard):
    token = as_role(Role.analyst)["Authorization"].split()[1]
    dom = await asyncio.to_thread(render_dom, f"{dashboard}/?group_by=week#token={token}")
    assert re.search(r'<body[^>]*data-ready="true"', dom), dom[:2000]
    for chart in CHARTS:
        assert int(attribute(dom, chart, "data-drawn") or 0) > 0, f"{chart} was not drawn"
    table = dom[dom.index('id="staff-table"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr") > 2  # a header and at least two people


async def test_the_dashboard_asks_for_a_token_instead_of_drawing_without_one(dashboard):
    dom = await asyncio.to_thread(render_dom, f"{dashboard}/")
    assert re.search(r'<body[^>]*data-ready="true"', dom)
    assert all(not attribute(dom, chart, "data-drawn") for chart in CHARTS)
    assert "token" in dom.lower()
