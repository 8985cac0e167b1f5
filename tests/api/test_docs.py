"""Issue 13, item 9: `/docs` and `/redoc` load nothing from another origin (the machines have no internet).

Every asset a docs page references is a path on the service itself, and the service serves it with
the right content type. A Content-Security-Policy keeps the browser to that origin too.
"""
from __future__ import annotations

import re

import pytest

from shared.http.docs import ASSETS_PATH

ASSET_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",), ".png": ("image/png",)}


def referenced(html: str) -> list[str]:
    """Every URL the page makes the browser load: script and link targets, and Swagger UI's spec URL."""
    return re.findall(r'\b(?:src|href)="([^"]*)"', html) + re.findall(r"\burl: '([^']*)'", html) + re.findall(
        r'\bspec-url="([^"]*)"', html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_a_docs_page_references_only_the_service_s_own_assets(intake, page):
    response = await intake.client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    urls = referenced(html)
    assert "/openapi.json" in urls and any(u.startswith(ASSETS_PATH) for u in urls), urls
    assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_every_asset_a_docs_page_references_is_served_with_its_content_type(intake, page):
    html = (await intake.client.get(page)).text
    assets = [u for u in referenced(html) if u.startswith(ASSETS_PATH)]
    assert assets
    for url in assets:
        response = await intake.client.get(url)
        assert response.status_code == 200, url
        suffix = url[url.rindex("."):]
        assert response.headers["content-type"].startswith(ASSET_TYPES[suffix]), (url, response.headers)
        assert len(response.content) > 1000, url  # the real bundle, not an error page


async def test_swagger_ui_s_bundle_and_stylesheet_are_the_real_ones(intake):
    js = await intake.client.get(f"{ASSETS_PATH}/swagger-ui-bundle.js")
    css = await intake.client.get(f"{ASSETS_PATH}/swagger-ui.css")
    assert b"SwaggerUIBundle" in js.content and b".swagger-ui" in css.content


async def test_a_missing_asset_is_a_404_and_the_docs_are_not_in_the_openapi(intake):
    assert (await intake.client.get(f"{ASSETS_PATH}/nothing.js")).status_code == 404
    paths = (await intake.client.get("/openapi.json")).json()["paths"]
    assert not any(p.startswith("/docs") or p.startswith("/redoc") for p in paths)
