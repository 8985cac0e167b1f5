"""`/docs` (Swagger UI) and `/redoc` served entirely from the installed package, never from a CDN.

FastAPI's default pages load their JavaScript and CSS from a CDN without integrity checks, and the
machines that run ServiceTrail have no internet, so the pages stayed blank. This follows FastAPI's
own recipe for self-hosting ("Custom Docs UI Static Assets"): drop the default routes, serve the
assets from the app, and render FastAPI's page builders with local URLs.

The assets come from the `fastapi-offline` wheel (pinned in pyproject.toml): a maintained package
whose only dependency is FastAPI and which ships exactly these files (Swagger UI's bundle and CSS,
ReDoc's standalone bundle, a favicon). Only its files are used, not its FastAPI factory, because
create_app builds the app. A Content-Security-Policy on the two pages makes the browser itself refuse
anything from another origin, so a later change that reintroduces a CDN link fails loudly.
"""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PACKAGE = ("fastapi_offline", "static")
ASSETS_PATH = "/docs/assets"  # under /docs, so the docs stay one prefix for proxies and rules
# Inline script and styles: Swagger UI's page starts it with an inline <script> and the bundle injects
# styles; `data:` images are its icons; `blob:` workers are ReDoc's search; `connect-src` covers
# fetching /openapi.json and "Try it out" against this same service.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def install_docs(app: FastAPI) -> None:
    """Replace the app's CDN-backed `/docs` and `/redoc` with pages whose every asset the app serves."""
    docs_url, redoc_url, openapi_url = app.docs_url, app.redoc_url, app.openapi_url
    if openapi_url is None:
        return  # no schema, no docs (FastAPI's own rule)
    # FastAPI added its pages in the constructor; keep its oauth2-redirect page (it loads nothing).
    replaced = {docs_url, redoc_url} - {None}
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in replaced]
    app.mount(ASSETS_PATH, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")

    def local(request: Request, path: str) -> str:
        # Behind a proxy that strips a prefix (root_path), the browser must ask for the prefixed URL.
        return request.scope.get("root_path", "").rstrip("/") + path

    if docs_url:
        async def swagger_ui(request: Request) -> HTMLResponse:
            redirect = app.swagger_ui_oauth2_redirect_url
            page = get_swagger_ui_html(
                openapi_url=local(request, openapi_url), title=f"{app.title} - Swagger UI",
                swagger_js_url=local(request, f"{ASSETS_PATH}/swagger-ui-bundle.js"),
                swagger_css_url=local(request, f"{ASSETS_PATH}/swagger-ui.css"),
                swagger_favicon_url=local(request, f"{ASSETS_PATH}/favicon.png"),
                oauth2_redirect_url=local(request, redirect) if redirect else None,
                init_oauth=app.swagger_ui_init_oauth, swagger_ui_parameters=app.swagger_ui_parameters)
            page.headers["Content-Security-Policy"] = CSP
            return page

        app.add_route(docs_url, swagger_ui, include_in_schema=False)

    if redoc_url:
        async def redoc(request: Request) -> HTMLResponse:
            page = get_redoc_html(
                openapi_url=local(request, openapi_url), title=f"{app.title} - ReDoc",
                redoc_js_url=local(request, f"{ASSETS_PATH}/redoc.standalone.js"),
                redoc_favicon_url=local(request, f"{ASSETS_PATH}/favicon.png"), with_google_fonts=False)
            page.headers["Content-Security-Policy"] = CSP
            return page

        app.add_route(redoc_url, redoc, include_in_schema=False)
