"""The shared shape of every report query: filters, grouping, and one scan for groups and total.

A report is a select list over the live version's facts, filtered on a time column and the
dimensions, grouped by a period or a dimension with `GROUPING SETS`, so the total comes from the
same scan as the groups.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.db import Conn, fetch

PERIODS = {"day": "YYYY-MM-DD", "week": 'IYYY-"W"IW', "month": "YYYY-MM"}
DIMENSIONS = {"priority": "f.priority", "category": "f.category", "channel": "f.channel", "kind": "f.kind",
              "team": "r.team", "resource": "coalesce(f.resolver_id, f.resource_id)"}
FILTERS = ("priority", "category", "channel", "team")
TOTAL = "total"


@dataclass(frozen=True)
class Filters:
    start: datetime | None = None
    end: datetime | None = None
    priority: str | None = None
    category: str | None = None
    channel: str | None = None
    team: str | None = None
    group_by: str | None = None
    timezone: str = "UTC"


@dataclass
class Query:
    """Builds one parameterised statement; `param` hands out $n placeholders."""

    params: list[Any] = field(default_factory=list)

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def where(self, filters: Filters, time_column: str | None) -> str:
        clauses = ["true"]
        if time_column and filters.start is not None:
            clauses.append(f"{time_column} >= {self.param(filters.start)}::timestamptz")
        if time_column and filters.end is not None:
            clauses.append(f"{time_column} < {self.param(filters.end)}::timestamptz")
        for name in FILTERS:
            if (value := getattr(filters, name)) is not None:
                clauses.append(f"{DIMENSIONS[name]} = {self.param(value)}")
        return " AND ".join(clauses)

    def group(self, filters: Filters, time_column: str) -> str:
        by = filters.group_by
        if by in PERIODS:
            return (f"to_char({time_column} AT TIME ZONE {self.param(filters.timezone)}, "
                    f"{self.param(PERIODS[by])})")
        if by in DIMENSIONS:
            return f"coalesce({DIMENSIONS[by]}, 'none')"
        return f"{self.param(TOTAL)}::text"


def facts_from(schema: str) -> str:
    """Request facts with the resource that holds (or resolved) each one, for its team."""
    return (f"{schema}.request_facts f LEFT JOIN {schema}.resource_facts r "
            f"ON r.resource_id = coalesce(f.resolver_id, f.resource_id)")


async def grouped(conn: Conn, q: Query, select: str, source: str, where: str, group: str) -> list[dict[str, Any]]:
    """Rows per group, then the total row last (group "total")."""
    sql = (f"SELECT CASE WHEN grouping({group}) = 1 THEN '{TOTAL}' ELSE {group} END AS group, {select} "
           f"FROM {source} WHERE {where} GROUP BY GROUPING SETS (({group}), ()) "
           f"ORDER BY grouping({group}), 1")
    rows = await fetch(conn, sql, *q.params)
    out = [dict(r) for r in rows]
    if out and out[0]["group"] == TOTAL and len(out) == 2 and out[1]["group"] == TOTAL:
        out = out[:1]  # no grouping asked: the one group is the total
    return out


def ratio(numerator: float | None, denominator: float | None, digits: int = 4) -> float | None:
    if not denominator or numerator is None:
        return None
    return round(numerator / denominator, digits)


def seconds(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)
