"""Report numbers against hand-computed values, on a crafted history sent through the real broker.

The history (Monday 2 March 2026, UTC), five requests and three feedback items:
- R1 P2 phone: acknowledged in time, worked 10-11 and 13-15 (paused 11-13) by res-A, confirmed, CSAT 5.
- R2 P2 email: acknowledged late, allocated A -> B -> A (a ping-pong), worked 12:30-14:30, rejected and
  reopened, re-allocated to A, worked 16-17, both clocks breached, closed next day, CSAT 2.
- R3 P1 web: never acknowledged, still open (response missed), escalated.
- R4 P3 web: withdrawn at 12:00 before its response deadline (neither met nor missed).
- R5 P4 phone: merged into R1 at 09:45.
- A complaint about R2 handled in time, an unlinked complaint overdue, and a praise.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.auth import Role
from tests.api.analytics_support import analytics_app
from tests.support.history import History, Journey

UTC = timezone.utc
MON = datetime(2026, 3, 2, tzinfo=UTC)
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def at(hours: float, day: int = 0) -> datetime:
    return MON + timedelta(days=day, hours=hours)


def crafted() -> History:
    h = History()
    h.resource("res-A", at(8), team="alpha", capacity=2, name="Alice")
    h.resource("res-B", at(8), team="beta", name="Bob")
    (Journey(h, "R1").received(at(9)).triaged(at(9), priority="P2", respond_by=at(13), resolve_by=at(17, 1),
                                                received_at=at(9))
     .allocated(at(9.5), "res-A").acknowledged(at(10), respond_by=at(13), within_target=True)
     .started(at(10), "res-A").paused(at(11)).resumed(at(13)).resolved(at(15), "res-A")
     .confirmed(at(16)).closed(at(16)).surveyed(at(17), csat=5, nps=10, reliability=5, empathy=4))
    (Journey(h, "R2").received(at(9), channel="email")
     .triaged(at(9, 0) + timedelta(minutes=10), priority="P2", respond_by=at(13), resolve_by=at(16),
              received_at=at(9), channel="email")
     .allocated(at(10), "res-A").allocated(at(11), "res-B", previous="res-A").allocated(at(12), "res-A", "res-B")
     .started(at(12.5), "res-A").warned(at(12), "response").breached(at(13), "response")
     .acknowledged(at(14), respond_by=at(13), within_target=False).resolved(at(14.5), "res-A")
     .rejected(at(15)).reopened(at(15), 1).allocated(at(15.5), "res-A").started(at(16), "res-A")
     .breached(at(16.5), "resolution").escalated(at(16.5), "manager").resolved(at(17), "res-A")
     .confirmed(at(10, 1)).closed(at(10, 1)).surveyed(at(11, 1), csat=2, nps=3, reliability=1))
    (Journey(h, "R3").received(at(10), channel="web", category="it > network")
     .triaged(at(10), priority="P1", respond_by=at(11), resolve_by=at(14), received_at=at(10), channel="web",
              category="it > network").escalated(at(10)))
    (Journey(h, "R4").received(at(11), channel="web")
     .triaged(at(11), priority="P3", respond_by=at(11, 1), resolve_by=at(11, 3), received_at=at(11), channel="web")
     .withdrawn(at(12)).closed(at(12), "withdrawn"))
    (Journey(h, "R5").received(at(9.5))
     .triaged(at(9.5), priority="P4", respond_by=at(13.5), resolve_by=at(9, 5), received_at=at(9.5))
     .merged(at(9.75), "R1").closed(at(9.75), "merged"))
    h.feedback("F1", "complaint", at(10, 1), respond_by=at(10, 2), request_id="R2")
    h.feedback_resolved("F1", at(15, 1), within_deadline=True, request_id="R2")
    h.feedback("F2", "complaint", at(9, 1), respond_by=at(12, 1))
    h.feedback("F3", "praise", at(9, 1), respond_by=at(9, 3))
    return h


@pytest.fixture(scope="module")
async def reports(settings_for, broker):  # noqa: ANN001
    history = crafted()
    async with analytics_app(settings_for, broker.bootstrap, NOW) as api:
        await api.publish(history)
        await api.caught_up(len(history.envelopes))
        yield api


async def test_sla_compliance_counts_first_responses_and_pause_aware_resolution_breaches(reports):
    body = await reports.report("sla")
    t = body["total"]
    assert (t["requests"], t["response_met"], t["response_missed"]) == (5, 1, 2)
    assert t["response_compliance"] == pytest.approx(1 / 3, abs=1e-4)
    assert (t["resolution_met"], t["resolution_missed"], t["resolution_compliance"]) == (1, 1, 0.5)
    # A response breach is a response missed (R2 late, R3 unanswered), not dispatch's response clock.
    assert (t["response_breaches"], t["resolution_breaches"], t["response_warnings"]) == (2, 1, 1)
    assert t["escalations"] == 2


async def test_sla_by_priority_gives_one_row_per_priority(reports):
    rows = {r["group"]: r for r in (await reports.report("sla", group_by="priority"))["rows"]}
    assert sorted(rows) == ["P1", "P2", "P3", "P4"]
    assert (rows["P1"]["response_missed"], rows["P1"]["response_compliance"]) == (1, 0.0)
    assert (rows["P2"]["requests"], rows["P2"]["response_compliance"]) == (2, 0.5)
    assert rows["P3"]["response_compliance"] is None


async def test_filters_narrow_every_report_to_matching_requests(reports):
    body = await reports.report("sla", channel="web", group_by="category")
    groups = {r["group"]: r["requests"] for r in body["rows"]}
    assert groups == {"it > network": 1, "it > printer": 1}
    assert (await reports.report("sla", team="beta"))["total"]["requests"] == 0  # B resolved nothing
    by_team = {r["group"]: r["requests"] for r in (await reports.report("sla", group_by="team"))["rows"]}
    assert by_team == {"alpha": 2, "none": 3}


async def test_stage_times_give_medians_and_p90_of_each_stage(reports):
    t = (await reports.report("stages"))["total"]
    assert (t["triage_median_s"], t["triage_p90_s"]) == (0, 360)
    assert (t["response_median_s"], t["response_p90_s"]) == (10800, 16560)
    assert (t["work_median_s"], t["paused_median_s"], t["paused_p90_s"]) == (10800, 3600, 6480)
    assert (t["lead_median_s"], t["lead_p90_s"]) == (25200, 28080)
    assert t["confirmation_median_s"] == 32400
    assert t["waiting_share"] == pytest.approx(28800 / 50400, abs=1e-4)


async def test_stage_report_counts_hand_offs_and_ping_pong(reports):
    t = (await reports.report("stages"))["total"]
    assert (t["reassigned_requests"], t["handoffs"], t["ping_pong_requests"], t["ping_pongs"]) == (1, 3, 1, 1)
    assert t["bottleneck"] == "confirmation"


async def test_backlog_now_holds_only_the_open_request_with_its_age(reports):
    t = (await reports.report("backlog"))["total"]
    assert (t["open"], t["age_1_3d"], t["oldest_age_s"], t["breached"], t["unacknowledged"]) == (1, 1, 180000, 1, 1)


async def test_backlog_as_of_a_past_moment_shows_what_was_open_then(reports):
    t = (await reports.report("backlog", as_of="2026-03-02T12:30:00Z"))["total"]
    assert (t["open"], t["age_lt_1d"], t["unacknowledged"], t["breached"]) == (3, 3, 2, 0)
    at_three = (await reports.report("backlog", as_of="2026-03-02T15:00:00Z"))["total"]
    assert (at_three["open"], at_three["breached"], at_three["awaiting_confirmation"]) == (3, 1, 1)
    assert (await reports.report("backlog", as_of="2026-03-01T00:00:00Z"))["total"]["open"] == 0


async def test_satisfaction_gives_csat_nps_and_dimensions(reports):
    t = (await reports.report("satisfaction"))["total"]
    assert (t["surveys"], t["csat_avg"], t["csat_pct"], t["nps"]) == (2, 3.5, 0.5, 0.0)
    assert (t["reliability_avg"], t["empathy_avg"], t["tangibles_avg"]) == (3.0, 4.0, None)


async def test_complaint_rate_and_handling_compliance(reports):
    t = (await reports.report("complaints"))["total"]
    assert (t["requests"], t["complaints"], t["praise"], t["complaint_rate"]) == (5, 2, 1, 0.4)
    assert (t["handled_in_time"], t["open_overdue"], t["handling_compliance"]) == (1, 1, 0.5)


async def test_staff_report_gives_each_resource_its_work_and_quality(reports):
    body = await reports.report("staff", **{"from": "2026-03-02", "to": "2026-03-02"})
    a = {r["group"]: r for r in body["rows"]}["res-A"] if body["rows"] else body["total"]
    assert (a["resolved"], a["handle_median_s"], a["fcr_rate"], a["reopen_rate"], a["csat_avg"]) == (
        2, 10800, 0.5, 0.5, 3.5)
    assert body["rows"][0]["name"] == "Alice" and body["rows"][0]["team"] == "alpha"
    assert body["rows"][0]["utilisation"] == 0.125


async def test_a_report_comes_as_csv_when_asked(reports):
    response = await reports.get("/v1/reports/sla", params={"group_by": "priority"}, headers={"Accept": "text/csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0].startswith("group,requests,response_met")
    assert [line.split(",")[0] for line in lines[1:]] == ["P1", "P2", "P3", "P4", "total"]


async def test_reports_carry_no_customer_personal_data(reports):
    for name in ("sla", "stages", "backlog", "satisfaction", "complaints", "staff"):
        text = (await reports.get(f"/v1/reports/{name}", params={"group_by": "resource"})).text
        assert "Ada" not in text and "ada@example.com" not in text and "rude" not in text


async def test_the_timeline_shows_every_service_in_order_and_hides_personal_data_from_analysts(reports):
    body = (await reports.get("/v1/requests/R1/timeline")).json()
    names = [e["name"] for e in body["events"]]
    assert names[:3] == ["RequestReceived", "RequestTriaged", "ResourceAllocated"]
    assert names[-1] == "SurveyReturned" and {e["service"] for e in body["events"]} == {"intake", "dispatch", "feedback"}
    assert body["events"][0]["data"]["customer"]["name"] is None and "customer.name" in body["events"][0]["hidden"]
    agent = (await reports.get("/v1/requests/R1/timeline", Role.agent)).json()
    assert agent["events"][0]["data"]["customer"]["name"] == "Ada Lovelace"


@pytest.mark.parametrize("params, field", [
    ({"group_by": "colour"}, "group_by"), ({"priority": "P9"}, "priority"), ({"from": "yesterday"}, "from"),
    ({"from": "2026-03-05", "to": "2026-03-01"}, "to"), ({"channel": "fax"}, "channel"),
    ({"to": "2026-13-01"}, "to"),
])
async def test_bad_report_parameters_get_a_problem_naming_the_field(reports, params, field):
    response = await reports.get("/v1/reports/sla", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize("role, status", [(Role.customer, 403), (Role.technician, 403), (Role.agent, 403),
                                          (Role.dispatcher, 200), (Role.admin, 200)])
async def test_reports_are_for_analysts_dispatchers_and_admins(reports, role, status):
    assert (await reports.get("/v1/reports/sla", role)).status_code == status


async def test_the_forecast_carries_the_weekday_pattern_and_the_staff_it_implies(reports):
    body = await reports.report("forecast", days=7, history_days=7)
    assert [d["weekday"] for d in body["days"]] == ["Wed", "Thu", "Fri", "Sat", "Sun", "Mon", "Tue"]
    monday = body["days"][5]
    assert monday["expected"] == {"it > network": 1.0, "it > printer": 4.0}
    assert (monday["workload_hours"], monday["staff_needed"]) == (13.0, 3)  # 4 x 3 h + 1 x 1 h (default)
    assert body["days"][0]["total"] == 0 and "weekday" in body["method"]


async def test_the_forecast_comes_as_csv_with_a_row_per_day(reports):
    response = await reports.get("/v1/reports/forecast", params={"days": 3, "history_days": 7},
                                 headers={"Accept": "text/csv"})
    lines = response.text.splitlines()
    assert lines[0].split(",")[:2] == ["group", "weekday"] and len(lines) == 4


async def test_a_bad_as_of_gets_a_problem_naming_it(reports):
    response = await reports.get("/v1/reports/backlog", params={"as_of": "soon"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "as_of"
