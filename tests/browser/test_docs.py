"""`/docs` and `/redoc` drawn by a real headless Chromium from a real service over HTTP, offline.

The test machines have no internet, so a page that still needed a CDN would stay blank here; the
pages' Content-Security-Policy would also refuse it. Drawing the operations proves the served assets
are the whole of what the pages need.
"""
from __future__ import annotations

import asyncio

import pytest

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from tests.support.app import serving_http
from tests.support.browser import chromium_available, render_dom

pytestmark = pytest.mark.skipif(not chromium_available(), reason="Chromium is not installed (run `make browser`)")


@pytest.fixture(scope="module")
async def intake_url(settings_for):  # noqa: ANN001
    async with serving_http(bootstrap(settings_for("intake", IntakeSettings))) as url:
        yield url


async def test_swagger_ui_draws_the_service_s_operations_from_local_assets(intake_url):
    dom = await asyncio.to_thread(render_dom, f"{intake_url}/docs")
    assert 'class="swagger-ui' in dom, dom[:2000]
    assert "ServiceTrail intake" in dom and "/v1/requests" in dom and "opblock" in dom, dom[:4000]


async def test_redoc_draws_the_service_s_operations_from_local_assets(intake_url):
    dom = await asyncio.to_thread(render_dom, f"{intake_url}/redoc")
    assert "ServiceTrail intake" in dom and "/v1/requests" in dom, dom[:4000]
