"""A report's rows as JSON (groups, then the total apart) or, with `Accept: text/csv`, as CSV."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from services.analytics.service_layer.views import Filters
from shared.csv_safe import rows_to_csv


def render(request: Request, report: str, f: Filters | None, rows: list[dict[str, Any]], **extra: Any) -> Response:
    if "text/csv" in request.headers.get("accept", ""):
        # Through the shared writer: names, teams and categories are clients' text (CSV injection).
        return Response(rows_to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{report}.csv"'})
    body: dict[str, Any] = {"report": report, **extra}
    if f is not None:
        body["filters"] = {"from": f.start, "to": f.end, "priority": f.priority, "category": f.category,
                           "channel": f.channel, "team": f.team}
        body["group_by"] = f.group_by
    total = [r for r in rows if r.get("group") == "total"]
    body["rows"] = [r for r in rows if r.get("group") != "total"] if len(rows) > 1 else []
    body["total"] = total[0] if total else None
    return JSONResponse(jsonable(body))


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, (date, datetime)) else value
