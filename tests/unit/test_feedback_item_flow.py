"""Issue 12, symptom 8: a feedback item follows its documented flow and nothing else.

The README's state x command table, written out here on its own (not imported from the aggregate,
so a change to one without the other fails): acknowledge, then investigate (optional, repeatable),
then resolve with an outcome; nothing after a resolution. A complaint past its deadline without an
outcome escalates once, at whichever step it is short of resolved.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.feedback.domain.items import DEFAULT_DEADLINES, FeedbackItem
from shared.contracts import feedback as ev
from shared.errors import InvalidTransition

T0 = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
LATE = T0 + timedelta(hours=30)  # past a complaint's 24 h

FLOW: dict[str, dict[str, str]] = {  # state -> command -> next state; a missing command is a 409
    "open": {"acknowledge": "acknowledged"},
    "acknowledged": {"investigate": "investigating", "resolve": "resolved"},
    "investigating": {"investigate": "investigating", "resolve": "resolved"},
    "resolved": {},
}
COMMANDS = ("acknowledge", "investigate", "resolve")
WAY_TO = {"open": (), "acknowledged": ("acknowledge",), "investigating": ("acknowledge", "investigate"),
          "resolved": ("acknowledge", "resolve")}
RECORDS = {"acknowledge": "FeedbackAcknowledged", "investigate": "FeedbackInvestigated",
           "resolve": "FeedbackResolved"}


def receipt(kind: str) -> ev.FeedbackReceived:
    return ev.FeedbackReceived(feedback_id="f1", subject_id="r1", kind=kind, request_id="r1", text="x",
                               given_by="c1", respond_by=T0 + DEFAULT_DEADLINES[kind], received_at=T0)


def received(kind: str = "complaint") -> FeedbackItem:
    return FeedbackItem.rehydrate([receipt(kind)], 1)


def give(item: FeedbackItem, command: str, now: datetime = T0 + timedelta(hours=1)) -> None:
    {"acknowledge": lambda: item.acknowledge("a1", None, now),
     "investigate": lambda: item.investigate("a1", "findings so far", now),
     "resolve": lambda: item.resolve("apologised", "a1", now)}[command]()


def at(state: str, kind: str = "complaint") -> FeedbackItem:
    item = received(kind)
    for command in WAY_TO[state]:
        give(item, command)
    item.take_pending()
    return item


@pytest.mark.parametrize("state, command", list(product(FLOW, COMMANDS)))
def test_each_command_in_each_state_does_what_the_table_says(state: str, command: str):
    item = at(state)
    target = FLOW[state].get(command)
    if target is None:
        with pytest.raises(InvalidTransition, match=f"cannot {command} feedback f1: it is {state} "):
            give(item, command)
        assert item.status == state and not item.changed  # a refusal records nothing
    else:
        give(item, command)
        assert item.status == target
        assert [type(e).__name__ for e in item.take_pending()] == [RECORDS[command]]


@pytest.mark.parametrize("state", list(FLOW))
def test_a_late_complaint_escalates_once_at_any_step_short_of_resolved(state: str):
    item = at(state)
    assert item.escalate_if_late(LATE) is (state != "resolved")
    assert item.escalate_if_late(LATE + timedelta(days=1)) is False
    assert item.status == state  # escalating is not a step of the flow: the item stays where it was


def test_resolving_straight_from_open_is_refused_and_acknowledging_still_works():
    """The issue's reproduction: /resolve from open answered 200 and a later /acknowledge said
    'acknowledged already'."""
    item = at("open")
    with pytest.raises(InvalidTransition, match="it is open"):
        item.resolve("sorted", "a1", T0)
    item.acknowledge("a1", None, T0)
    assert item.status == "acknowledged"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(("complaint", "suggestion", "praise")),
       st.lists(st.sampled_from((*COMMANDS, "deadline")), max_size=14))
def test_any_sequence_of_commands_follows_the_table(kind: str, commands: list[str]):
    item, state, escalated, expected = received(kind), "open", False, []
    for command in commands:
        if command == "deadline":
            went_up = item.escalate_if_late(LATE)
            assert went_up is (kind == "complaint" and state != "resolved" and not escalated)
            escalated |= went_up
            expected += ["FeedbackEscalated"] if went_up else []
        elif command in FLOW[state]:
            give(item, command)
            state = FLOW[state][command]
            expected.append(RECORDS[command])
        else:
            with pytest.raises(InvalidTransition, match=f"it is {state} "):
                give(item, command)
        assert item.status == state and item.escalated is escalated
    recorded = item.take_pending()
    assert [type(e).__name__ for e in recorded] == expected
    # A reloaded item is where the live one was: the table holds across replays too.
    replayed = FeedbackItem.rehydrate([receipt(kind), *recorded], 1 + len(recorded))
    assert (replayed.status, replayed.escalated) == (state, escalated)
