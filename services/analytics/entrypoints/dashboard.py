"""Analytics' dashboard page for people: plain HTML/JS over the /v1/reports endpoints, Chart.js vendored."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from shared.http.strict_query import takes_any_query

STATIC = Path(__file__).parent / "static"
router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@takes_any_query  # its query string is the page's filters, read by its script (?group_by=week)
async def dashboard() -> HTMLResponse:
    """The dashboard page. No auth here: the page's data calls carry the bearer token."""
    return HTMLResponse((STATIC / "dashboard.html").read_text(encoding="utf-8"))


def mount_static(app: FastAPI) -> None:
    """Serve the dashboard's scripts, styles and vendored Chart.js at /static (no auth)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
