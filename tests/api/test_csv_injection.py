"""Issue 13, item 7: text a client typed (a resource's name or team, a category) reaches the reports' CSV
as text a spreadsheet shows, never as a formula it runs (OWASP: a leading `'` on `= + - @`, tab, CR).

The resources and requests come through the real broker into analytics' real app, as dispatch and
intake would publish them; the CSV is read back with the csv module, as a spreadsheet would split it.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from shared.csv_safe import FORMULA_STARTS
from tests.api.analytics_support import AnalyticsApi, analytics_app
from tests.support.history import History, Journey

MON = datetime(2026, 3, 2, tzinfo=timezone.utc)
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=timezone.utc)
LINK = '=HYPERLINK("http://x","y")'
HOSTILE = {  # resource id -> (name, team); the ids are group labels in the CSV too
    "-res-1": (LINK, "@SUM(1+1)*cmd|' /C calc'!A0"),
    "+res-2": ("\t=1+1", "\r=2+2"),
}
CATEGORY = "+cmd|' /C calc'!A0"


def at(hours: float) -> datetime:
    return MON + timedelta(hours=hours)


def hostile_history() -> History:
    h = History()
    for day, (resource_id, (name, team)) in enumerate(HOSTILE.items()):  # one a day, so a day shows one
        h.resource(resource_id, at(8), name=name, team=team)
        t = 24 * day
        (Journey(h, f"R{day}").received(at(t + 9), category=CATEGORY)
         .triaged(at(t + 9), priority="P3", respond_by=at(t + 13), resolve_by=at(t + 17), received_at=at(t + 9),
                  category=CATEGORY)
         .allocated(at(t + 9.5), resource_id).started(at(t + 10), resource_id).resolved(at(t + 11), resource_id))
    return h


@pytest.fixture(scope="module")
async def api(settings_for, broker):  # noqa: ANN001
    history = hostile_history()
    async with analytics_app(settings_for, broker.bootstrap, NOW) as api:
        await api.publish(history)
        await api.caught_up(len(history.envelopes))
        yield api


async def csv_rows(api: AnalyticsApi, report: str, **params: str) -> list[dict[str, str]]:
    response = await api.get(f"/v1/reports/{report}", params=params, headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv"), response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_no_formula(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for column, cell in row.items():
            assert not column.startswith(FORMULA_STARTS), column
            assert is_number(cell) or not cell.startswith(FORMULA_STARTS), (column, cell)


async def test_a_formula_in_a_resource_name_or_team_reaches_the_staff_csv_as_text(api):
    rows = await csv_rows(api, "staff", **{"from": "2026-03-02", "to": "2026-03-02"})
    by_group = {r["group"]: r for r in rows}
    assert set(by_group) == {"'-res-1", "total"}
    assert (by_group["'-res-1"]["name"], by_group["'-res-1"]["team"]) == ("'" + LINK, "'" + HOSTILE["-res-1"][1])
    assert by_group["total"]["resolved"] == "1"  # numbers stay numbers
    assert_no_formula(rows)


async def test_a_tab_or_carriage_return_at_the_start_is_neutralised_and_a_cr_cannot_split_the_row(api):
    rows = await csv_rows(api, "staff", **{"from": "2026-03-03", "to": "2026-03-03"})
    by_group = {r["group"]: r for r in rows}
    assert set(by_group) == {"'+res-2", "total"}
    assert (by_group["'+res-2"]["name"], by_group["'+res-2"]["team"]) == ("'\t=1+1", "'\r=2+2")
    assert_no_formula(rows)


async def test_staff_grouped_by_team_and_sla_grouped_by_category_are_neutralised_too(api):
    teams = await csv_rows(api, "staff", group_by="team")
    assert {r["group"] for r in teams} >= {"'" + HOSTILE["-res-1"][1], "'\r=2+2"}
    categories = await csv_rows(api, "sla", group_by="category")
    assert "'" + CATEGORY in {r["group"] for r in categories}
    for rows in (teams, categories):
        assert_no_formula(rows)


async def test_the_forecast_csv_whose_columns_are_named_after_categories_is_neutralised(api):
    rows = await csv_rows(api, "forecast", days="2", history_days="7")
    assert len(rows) == 2
    assert_no_formula(rows)


async def test_json_reports_keep_the_names_as_they_were_given(api):
    body = await api.report("staff", **{"from": "2026-03-02", "to": "2026-03-02"})
    assert [r["name"] for r in body["rows"]] == [LINK] or body["total"]["name"] == LINK
