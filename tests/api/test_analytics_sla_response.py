"""One definition of first response in the SLA report (issue 12, symptom 4): the acknowledgement.

Response met, missed and breaches all come from intake's acknowledgement against `respond_by`;
dispatch's alerts on a clock it calls "response" (which stopped at WorkStarted before dispatch
followed the acknowledgement) count as warnings only, and a clock of another name is not response.

Monday 2 March 2026 (UTC), each request its own priority so each is a row of `group_by=priority`:
- P1 acknowledged in time at 09:30 (respond by 10:00), but dispatch's work started late at 12:00 and
  its old WorkStarted clock raised SlaWarning and SlaBreached "response": met, no breach.
- P2 acknowledged late at 14:00 (respond by 13:00), work started early at 09:15, dispatch raised
  nothing: missed, one breach.
- P3 never acknowledged, respond by 11:00, still open at noon: missed, one breach.
- P4 never acknowledged, respond by tomorrow: neither, yet.
- P3 (email) acknowledged in time; dispatch breached a clock named "attendance": met, no breach.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.api.analytics_support import analytics_app
from tests.support.history import History, Journey

MON = datetime(2026, 3, 2, tzinfo=timezone.utc)
NOW = MON + timedelta(hours=12)


def at(hours: float) -> datetime:
    return MON + timedelta(hours=hours)


def journey(h: History, request_id: str, priority: str, respond_by: datetime, channel: str = "phone") -> Journey:
    return (Journey(h, request_id).received(at(9), channel=channel)
            .triaged(at(9), priority=priority, respond_by=respond_by, resolve_by=at(48), received_at=at(9),
                     channel=channel))


def history() -> History:
    h = History()
    (journey(h, "in-time", "P1", at(10)).acknowledged(at(9.5), respond_by=at(10), within_target=True)
     .allocated(at(9.2), "res-A").warned(at(9.75), "response").breached(at(10), "response").started(at(12), "res-A"))
    (journey(h, "late", "P2", at(13)).allocated(at(9.1), "res-A").started(at(9.25), "res-A")
     .acknowledged(at(14), respond_by=at(13), within_target=False))
    journey(h, "unanswered", "P3", at(11)).allocated(at(9.5), "res-A")
    journey(h, "not-yet", "P4", at(33))
    (journey(h, "other-clock", "P3", at(11), channel="email").acknowledged(at(10), respond_by=at(11), within_target=True)
     .breached(at(10.5), "attendance"))
    return h


@pytest.fixture(scope="module")
async def sla(settings_for, broker):  # noqa: ANN001
    h = history()
    async with analytics_app(settings_for, broker.bootstrap, NOW) as api:
        await api.publish(h)
        await api.caught_up(len(h.envelopes))
        yield api


def figures(row: dict) -> tuple[int, int, int]:
    return row["response_met"], row["response_missed"], row["response_breaches"]


async def test_a_request_acknowledged_in_time_met_its_response_whenever_work_started(sla):
    rows = {r["group"]: r for r in (await sla.report("sla", group_by="priority"))["rows"]}
    assert figures(rows["P1"]) == (1, 0, 0)
    assert rows["P1"]["response_compliance"] == 1.0
    assert rows["P1"]["response_warnings"] == 1  # dispatch's alerts on its clock: a warning, not the breach


async def test_an_acknowledgement_after_respond_by_is_missed_and_one_breach(sla):
    rows = {r["group"]: r for r in (await sla.report("sla", group_by="priority"))["rows"]}
    assert figures(rows["P2"]) == (0, 1, 1)
    assert rows["P2"]["response_warnings"] == 0


async def test_no_acknowledgement_by_respond_by_is_missed_and_a_breach_and_before_it_neither(sla):
    rows = {r["group"]: r for r in (await sla.report("sla", group_by="channel"))["rows"]}
    assert figures(rows["email"]) == (1, 0, 0)  # dispatch's "attendance" clock is not response
    priorities = {r["group"]: r for r in (await sla.report("sla", group_by="priority"))["rows"]}
    assert figures(priorities["P3"]) == (1, 1, 1)  # unanswered (phone) + other-clock (email)
    assert figures(priorities["P4"]) == (0, 0, 0) and priorities["P4"]["response_compliance"] is None


async def test_the_total_agrees_with_its_rows(sla):
    total = (await sla.report("sla"))["total"]
    assert (total["requests"], *figures(total)) == (5, 2, 2, 2)
    assert total["response_compliance"] == 0.5
