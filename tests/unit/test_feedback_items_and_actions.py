"""Feedback items (deadlines, handling, escalation) and improvement actions (the PDCA cycle)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.feedback.domain.actions import ImprovementAction
from services.feedback.domain.items import DEFAULT_DEADLINES, FeedbackItem
from shared.contracts import feedback as ev
from shared.errors import Invalid, InvalidTransition

T0 = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)


def item(kind: str = "complaint") -> FeedbackItem:
    received = ev.FeedbackReceived(feedback_id="f1", subject_id="r1", kind=kind, request_id="r1", text="x",
                                   given_by="c1", respond_by=T0 + DEFAULT_DEADLINES[kind], received_at=T0)
    return FeedbackItem.rehydrate([received], 1)


def test_each_kind_has_its_own_deadline_and_a_complaint_has_a_day():
    assert DEFAULT_DEADLINES == {"complaint": timedelta(hours=24), "suggestion": timedelta(days=5),
                                 "praise": timedelta(days=7)}


def test_a_complaint_goes_acknowledged_investigating_resolved_and_says_whether_in_time():
    complaint = item()
    complaint.acknowledge("a1", "on it", T0 + timedelta(hours=1))
    complaint.investigate("a1", "call log checked", T0 + timedelta(hours=2))
    complaint.resolve("apologised", "a1", T0 + timedelta(hours=3))
    names = [type(e).__name__ for e in complaint.take_pending()]
    assert names == ["FeedbackAcknowledged", "FeedbackInvestigated", "FeedbackResolved"]
    assert complaint.status == "resolved"
    with pytest.raises(InvalidTransition):
        complaint.resolve("again", "a1", T0)
    with pytest.raises(InvalidTransition):
        complaint.investigate("a1", "more", T0)


def test_a_late_resolution_is_recorded_as_not_within_the_deadline():
    complaint = item()
    complaint.acknowledge("a1", None, T0 + timedelta(hours=29))
    complaint.resolve("sorted", "a1", T0 + timedelta(hours=30))
    resolved = complaint.take_pending()[-1]
    assert resolved.within_deadline is False and complaint.outcome == "sorted"


def test_only_an_unhandled_complaint_past_its_deadline_escalates_and_only_once():
    complaint = item()
    assert not complaint.escalate_if_late(T0 + timedelta(hours=23))
    assert complaint.escalate_if_late(T0 + timedelta(hours=24))
    assert not complaint.escalate_if_late(T0 + timedelta(hours=48))
    assert len(complaint.take_pending()) == 1
    handled = item()
    handled.acknowledge("a1", None, T0 + timedelta(hours=1))
    handled.resolve("done", "a1", T0 + timedelta(hours=1))
    assert not handled.escalate_if_late(T0 + timedelta(days=3))
    assert not item("suggestion").escalate_if_late(T0 + timedelta(days=30))


def test_an_action_goes_round_the_cycle_and_a_failed_check_goes_back_to_plan():
    action = ImprovementAction.open("a1", "SMS", "send SMS", "lead", T0 + timedelta(days=9), ["f1"], "lead", T0)
    for stage in ("do", "check", "plan", "do", "check", "act", "done"):
        action.progress(stage, stage, "lead", T0)
    assert action.stage == "done" and action.answers == ["f1"]
    assert (action.title, action.plan) == ("SMS", "send SMS")
    assert [step["stage"] for step in action.history] == ["do", "check", "plan", "do", "check", "act", "done"]
    with pytest.raises(InvalidTransition, match="done"):
        action.progress("plan", "again", "lead", T0)


@pytest.mark.parametrize("start, target", [("plan", "check"), ("plan", "act"), ("do", "plan"), ("plan", "done")])
def test_an_action_cannot_skip_stages(start, target):
    action = ImprovementAction.open("a1", "t", "p", "o", T0 + timedelta(days=1), [], "o", T0)
    for stage in ("do", "check", "act")[: ("plan", "do", "check", "act").index(start)]:
        action.progress(stage, "", "o", T0)
    with pytest.raises(InvalidTransition):
        action.progress(target, "", "o", T0)


def test_an_action_needs_a_future_due_date_and_a_known_stage():
    with pytest.raises(Invalid, match="future"):
        ImprovementAction.open("a1", "t", "p", "o", T0, [], "o", T0)
    action = ImprovementAction.open("a1", "t", "p", "o", T0 + timedelta(days=1), [], "o", T0)
    with pytest.raises(Invalid) as error:
        action.progress("dream", "", "o", T0)
    assert error.value.field == "stage"
