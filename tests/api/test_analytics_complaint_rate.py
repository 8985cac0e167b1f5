"""Issue 12, symptom 7: a complaint taken at intake is counted once in the complaints report.

Four repair requests and one complaint taken at the desk (intake's request, and the complaint
feedback raised for it), plus a complaint about a repair filed with feedback: two complaints over
four service requests. The complaint's own request is not a service request it complains about.
A second complaint at the desk is withdrawn with its request: counted, but never overdue.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.contracts import feedback
from tests.api.analytics_support import analytics_app
from tests.support.history import History, Journey

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

MON = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
NOW = MON + timedelta(days=3)


def history() -> History:
    h = History()
    for n in range(1, 5):
        (Journey(h, f"R{n}").received(MON)
         .triaged(MON, priority="P3", respond_by=MON + timedelta(hours=8), resolve_by=NOW, received_at=MON))
    (Journey(h, "C1").received(MON, channel="walk_in", kind="complaint", category="complaint > staff")
     .triaged(MON, priority="P3", respond_by=MON + timedelta(hours=8), resolve_by=NOW, received_at=MON,
              channel="walk_in", kind="complaint", category="complaint > staff"))
    h.feedback("F-C1", "complaint", MON, respond_by=MON + timedelta(days=1), request_id="C1", via="intake")
    h.feedback("F-R1", "complaint", MON + timedelta(hours=2), respond_by=MON + timedelta(days=1), request_id="R1")
    # A second complaint at the desk, withdrawn with its request before anyone handled it.
    (Journey(h, "C2").received(MON, channel="walk_in", kind="complaint", category="complaint > staff")
     .triaged(MON, priority="P3", respond_by=MON + timedelta(hours=8), resolve_by=NOW, received_at=MON,
              channel="walk_in", kind="complaint", category="complaint > staff")
     .withdrawn(MON + timedelta(hours=1)))
    h.feedback("F-C2", "complaint", MON, respond_by=MON + timedelta(days=1), request_id="C2", via="intake")
    h.record("feedback", "feedback-F-C2", feedback.FeedbackWithdrawn(
        feedback_id="F-C2", subject_id="C2", reason="its request was withdrawn", withdrawn_at=MON + timedelta(hours=1)),
        MON + timedelta(hours=1))
    return h


async def test_the_complaint_taken_at_intake_counts_once_and_not_as_a_request_it_complains_about(settings_for, broker):
    h = history()
    async with analytics_app(settings_for, broker.bootstrap, NOW) as api:
        await api.publish(h)
        await api.caught_up(len(h.envelopes))
        t = (await api.report("complaints"))["total"]
    assert (t["requests"], t["complaint_requests"], t["complaints"]) == (6, 2, 3)
    assert t["complaint_rate"] == 0.75  # 3 complaints / 4 service requests (6 received, 2 of them complaints)
    # The two still open are overdue; the withdrawn one is neither overdue nor handled.
    assert (t["open_overdue"], t["handled_in_time"], t["handled_late"], t["handle_median_s"]) == (2, 0, 0, None)
