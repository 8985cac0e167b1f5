"""Issue 12, symptom 11: the survey URL sent to the customer opens a form (it was the POST API, so
opening it was a 405), and the form records the answer. In a real headless Chromium, against the
real feedback service over HTTP."""
from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any, AsyncIterator

import httpx
import pytest

from services.feedback.bootstrap import bootstrap
from services.feedback.settings import FeedbackSettings
from shared.auth import Role
from shared.clock import FrozenClock
from tests.api.conftest import MONDAY_10
from tests.api.feedback_support import IntakeRequest, issue_resolved
from tests.support.app import as_role, serving_http
from tests.support.browser import chromium_available, render_dom
from tests.support.kafka import produce
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka,
              pytest.mark.skipif(not chromium_available(), reason="Chromium is not installed (run `make browser`)")]


@pytest.fixture(scope="module")
async def feedback(settings_for, broker) -> AsyncIterator[tuple[str, FeedbackSettings, FrozenClock, Any]]:  # noqa: ANN001
    settings = settings_for("feedback", FeedbackSettings, topic_prefix=f"s{uuid.uuid4().hex[:8]}.")
    clock = FrozenClock(MONDAY_10)
    app = bootstrap(settings, clock=clock)
    async with serving_http(app) as url:
        yield url, settings, clock, app


async def survey_url(url: str, settings: FeedbackSettings, broker) -> tuple[str, str]:  # noqa: ANN001
    """A resolved request of a new customer, confirmed: the link feedback gives for its survey."""
    request = IntakeRequest(f"cust-{uuid.uuid4().hex[:8]}", MONDAY_10)
    await produce(broker.bootstrap, f"{settings.topic_prefix}intake.events", request.records(MONDAY_10))
    await produce(broker.bootstrap, f"{settings.topic_prefix}dispatch.events", [issue_resolved(request.id, MONDAY_10)])
    customer = as_role(Role.customer, request.customer)
    async with httpx.AsyncClient(base_url=url) as client:
        async def awaiting() -> bool:
            r = await client.get(f"/v1/requests/{request.id}/closure", headers=customer)
            return r.status_code == 200 and r.json()["status"] == "awaiting_confirmation"
        await until(awaiting, timeout=30)
        confirmed = await client.post(f"/v1/requests/{request.id}/confirmation", json={"accepted": True},
                                      headers=customer)
        assert confirmed.status_code == 200, confirmed.text
        link = (await client.get(f"/v1/requests/{request.id}/survey", headers=customer)).json()
    return f"{url}/v1/surveys/{link['token']}", request.id


def state_of(dom: str) -> str | None:
    found = re.search(r'<body[^>]*data-state="([a-z]+)"', dom)
    return found.group(1) if found else None


async def test_the_survey_link_opens_a_form_with_every_question(feedback, broker):  # noqa: ANN001
    url, settings, _, _ = feedback
    link, _ = await survey_url(url, settings, broker)
    dom = await asyncio.to_thread(render_dom, link)
    assert state_of(dom) == "ready", dom[:1500]
    assert len(re.findall(r'name="csat"', dom)) == 5 and 'name="nps"' in dom and 'name="comment"' in dom


async def test_a_one_click_rating_from_the_link_is_recorded_once(feedback, broker):  # noqa: ANN001
    url, settings, _, app = feedback
    link, request_id = await survey_url(url, settings, broker)
    dom = await asyncio.to_thread(render_dom, f"{link}?csat=4")
    assert state_of(dom) == "sent" and "your answer is recorded" in dom, dom[-1500:]
    f = app.state.feedback
    async with f.db.connect() as conn:
        returned = [e.data for e in await f.closures.store.read_stream(conn, f"closure-{request_id}")
                    if e.name == "SurveyReturned"]
    assert [r["csat"] for r in returned] == [4]
    again = await asyncio.to_thread(render_dom, f"{link}?csat=5")  # the link works once
    assert state_of(again) == "failed" and "already" in again.lower(), again[-1500:]


async def test_a_forged_or_expired_link_says_so(feedback, broker):  # noqa: ANN001
    url, settings, clock, _ = feedback
    link, _ = await survey_url(url, settings, broker)
    async with httpx.AsyncClient(headers={"Accept": "text/html"}) as client:  # as a browser asks
        forged = await client.get(f"{link[:-4]}AAAA")
        assert forged.status_code == 404 and "not valid" in forged.text
        clock.set(MONDAY_10 + timedelta(days=15))
        try:
            expired = await client.get(link)
        finally:
            clock.set(MONDAY_10)
    assert expired.status_code == 410 and "expired" in expired.text
    async with httpx.AsyncClient() as client:  # anything else gets problem details
        problem = await client.get(f"{link[:-4]}AAAA")
    assert problem.status_code == 404 and problem.headers["content-type"] == "application/problem+json"
