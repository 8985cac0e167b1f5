"""Analytics' reports over the live read model: JSON, or CSV with `Accept: text/csv`.

No report carries a customer's personal data: facts hold categories, times, staff and scores only.
"""
from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from services.analytics.adapters.frame import Frame
from services.analytics.entrypoints.rendering import jsonable, render
from services.analytics.service_layer import people_reports, reports
from services.analytics.service_layer.views import Filters
from shared import limits
from shared.auth import Principal, Role, require_roles
from shared.errors import Invalid

router = APIRouter(prefix="/v1/reports", tags=["reports"])
READERS = require_roles(Role.analyst, Role.dispatcher)


class GroupBy(str, enum.Enum):
    day, week, month = "day", "week", "month"
    priority, category, channel, kind, team, resource = "priority", "category", "channel", "kind", "team", "resource"


class Priority(str, enum.Enum):
    P1, P2, P3, P4 = "P1", "P2", "P3", "P4"


class Channel(str, enum.Enum):
    phone, email, web, chat, walk_in, internal = "phone", "email", "web", "chat", "walk_in", "internal"


Text = Annotated[str | None, Query(min_length=1, max_length=limits.NAME_MAX)]
# A subset of what `_instant` accepts, as a pattern in the schema only (clients and Schemathesis
# generate from it; `_instant` still judges): a calendar day in 1900-2999 (not 29 February: a
# pattern cannot tell leap years), or a date-time in 1901-2998, inside the bounds whatever its zone.
_MONTH_DAY = (r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
              r"|(?:0[13578]|1[02])-31)")
_TIME = r"T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?"
_INNER_YEAR = r"(?:19(?:0[1-9]|[1-9]\d)|2(?:[0-8]\d\d|9(?:[0-8]\d|9[0-8])))"
WHEN_PATTERN = rf"^(?:(?:19\d\d|2\d\d\d)-{_MONTH_DAY}|{_INNER_YEAR}-{_MONTH_DAY}{_TIME})$"
When = Annotated[str | None, Query(max_length=40, json_schema_extra={"pattern": WHEN_PATTERN},
                                   description="a date (YYYY-MM-DD, inclusive) or an ISO 8601 date-time; "
                                               "without an offset, in the report timezone")]


def _instant(field: str, value: str | None, tz: ZoneInfo, end: bool = False) -> datetime | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = limits.day_in_range(date.fromisoformat(value))
            return datetime.combine(day + timedelta(days=1) if end else day, time(), tzinfo=tz)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(field, f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time between "
                             f"{limits.EARLIEST.year} and {limits.LATEST.year}") from exc
    try:
        return limits.instant_in_range(moment if moment.tzinfo else moment.replace(tzinfo=tz))
    except ValueError as exc:
        raise Invalid(field, str(exc)) from None


def filters(request: Request, from_: Annotated[When, Query(alias="from")] = None, to: When = None,
            priority: Priority | None = None, category: Text = None, channel: Channel | None = None,
            team: Text = None, group_by: GroupBy | None = None) -> Filters:
    tz_name = request.app.state.settings.report_timezone
    tz = ZoneInfo(tz_name)
    start, end = _instant("from", from_, tz), _instant("to", to, tz, end=True)
    if start is not None and end is not None and end <= start:
        raise Invalid("to", "must be after `from`")
    return Filters(start=start, end=end, priority=priority and priority.value, category=category,
                   channel=channel and channel.value, team=team, group_by=group_by and group_by.value,
                   timezone=tz_name)


async def live_frame(request: Request) -> Frame:
    """The live read model, up to date as of this request."""
    async with request.app.state.runtime.db.connect() as conn:
        frame = await request.app.state.frames.current(conn)
    if frame is None:
        raise Invalid("read model", "not built yet; try again in a moment")
    return frame


Live = Annotated[Frame, Depends(live_frame)]
Reader = Annotated[Principal, Depends(READERS)]  # declared first: refused callers cost no refresh
Filtered = Annotated[Filters, Depends(filters)]


@router.get("/sla")
async def sla(request: Request, _: Reader, f: Filtered, live: Live) -> Response:
    """Response and resolution compliance, breaches and warnings, by group (by when received)."""
    return render(request, "sla", f, reports.sla(live, f, request.app.state.runtime.clock.now()))


@router.get("/stages")
async def stages(request: Request, _: Reader, f: Filtered, live: Live) -> Response:
    """Time in each stage (median, p90), waiting vs working, hand-offs and ping-pong: the bottleneck."""
    return render(request, "stages", f, reports.stages(live, f))


@router.get("/backlog")
async def backlog(request: Request, _: Reader, f: Filtered, live: Live, as_of: When = None) -> Response:
    """Requests open at `as_of` (default now), by age; `from`/`to` are ignored."""
    at = _instant("as_of", as_of, ZoneInfo(f.timezone)) or request.app.state.runtime.clock.now()
    dims = f.without_period()
    return render(request, "backlog", dims, reports.backlog(live, dims, at), as_of=at)


@router.get("/satisfaction")
async def satisfaction(request: Request, _: Reader, f: Filtered, live: Live) -> Response:
    """CSAT, NPS and the five dimensions, by when the survey came back."""
    return render(request, "satisfaction", f, reports.satisfaction(live, f))


@router.get("/complaints")
async def complaints(request: Request, _: Reader, f: Filtered, live: Live) -> Response:
    """Complaint rate, feedback by kind, and complaint handling against its deadline."""
    now = request.app.state.runtime.clock.now()
    return render(request, "complaints", f, people_reports.complaints(live, f, now))


@router.get("/staff")
async def staff(request: Request, _: Reader, f: Filtered, live: Live) -> Response:
    """Per resource (or team): resolved, handle time, utilisation, first-contact resolution, reopens, CSAT."""
    return render(request, "staff", f, people_reports.staff(live, f))


@router.get("/forecast")
async def forecast(request: Request, _: Reader, f: Filtered, live: Live,
                   days: Annotated[int, Query(ge=1, le=90)] = 14,
                   history_days: Annotated[int, Query(ge=7, le=730)] = 56) -> Response:
    """Expected requests per category for the coming days, and the staff that implies."""
    settings = request.app.state.settings
    today = request.app.state.runtime.clock.now().astimezone(ZoneInfo(f.timezone)).date()
    result = people_reports.forecast_volume(live, f, today, days, history_days, settings.productive_hours_per_person)
    rows = [{"group": d.day.isoformat(), "weekday": d.weekday, **{f"expected.{c}": n for c, n in d.expected.items()},
             "total": d.total, "workload_hours": d.workload_hours, "staff_needed": d.staff_needed}
            for d in result.days]
    if "text/csv" in request.headers.get("accept", ""):
        return render(request, "forecast", None, rows)
    return JSONResponse(jsonable({"report": "forecast", "method": result.method,
                                   "history_from": result.history_from, "history_to": result.history_to,
                                   "days": [d.__dict__ for d in result.days]}))
