"""Intake's priority matrix, SLA policy on calendars, categories and duplicate likeness."""
from __future__ import annotations

from datetime import datetime, timezone
from itertools import product

import pytest

from services.intake.domain.categories import CategoryTree
from services.intake.domain.duplicates import THRESHOLD, similarity
from services.intake.domain.priority import DEFAULT_MATRIX, Level, Priority, matrix_from_spec, prioritise
from services.intake.domain.sla import DEFAULT_POLICY, Duration, SlaPolicy
from shared.errors import Invalid

UTC = timezone.utc


@pytest.mark.parametrize(
    "urgency, impact, expected",
    [("high", "high", "P1"), ("high", "medium", "P2"), ("medium", "high", "P2"), ("medium", "medium", "P3"),
     ("high", "low", "P3"), ("low", "high", "P3"), ("medium", "low", "P4"), ("low", "low", "P4")],
)
def test_urgency_and_impact_map_to_a_priority(urgency, impact, expected):
    assert prioritise(Level(urgency), Level(impact)) is Priority(expected)


def test_the_default_matrix_covers_every_combination_and_never_lowers_priority_as_urgency_rises():
    order = [Level.low, Level.medium, Level.high]
    assert set(DEFAULT_MATRIX) == set(product(Level, Level))
    for u, i in product(range(2), range(3)):
        assert prioritise(order[u + 1], order[i]).value <= prioritise(order[u], order[i]).value


def test_a_configured_matrix_is_used_and_must_be_complete():
    everything_p4 = {u: {i: "P4" for i in ("low", "medium", "high")} for u in ("low", "medium", "high")}
    everything_p4["high"]["high"] = "P2"
    matrix = matrix_from_spec(everything_p4)
    assert prioritise(Level.high, Level.high, matrix) is Priority.P2
    del everything_p4["low"]["low"]
    with pytest.raises(ValueError, match="misses"):
        matrix_from_spec(everything_p4)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_p1_runs_round_the_clock_one_hour_to_respond_and_four_to_resolve():
    saturday_night = at("2026-03-07T23:30:00")
    d = DEFAULT_POLICY.deadlines(Priority.P1, None, saturday_night)
    assert (d.respond_by, d.resolve_by) == (at("2026-03-08T00:30:00"), at("2026-03-08T03:30:00"))
    assert d.calendar.is_always_open


def test_p2_gets_four_business_hours_to_respond_and_one_business_day_to_resolve():
    friday_afternoon = at("2026-03-06T15:00:00")  # business hours 09-17 Mon-Fri (UTC)
    d = DEFAULT_POLICY.deadlines(Priority.P2, None, friday_afternoon)
    assert d.respond_by == at("2026-03-09T11:00:00")  # 2 h on Friday, 2 h on Monday
    assert d.resolve_by == at("2026-03-09T15:00:00")


def test_p3_and_p4_count_business_days_from_the_next_opening_when_received_outside_hours():
    sunday = at("2026-03-08T10:00:00")
    p3 = DEFAULT_POLICY.deadlines(Priority.P3, None, sunday)
    p4 = DEFAULT_POLICY.deadlines(Priority.P4, None, sunday)
    assert (p3.respond_by, p3.resolve_by) == (at("2026-03-10T09:00:00"), at("2026-03-12T09:00:00"))
    assert (p4.respond_by, p4.resolve_by) == (at("2026-03-11T09:00:00"), at("2026-03-16T09:00:00"))


def policy_with_calendar(**calendar) -> SlaPolicy:
    return SlaPolicy.from_spec({
        "name": "site-2026",
        "calendars": [{"name": "site", "timezone": "Europe/London",
                       "hours": {d: ["08:00-16:00"] for d in ("mon", "tue", "wed", "thu", "fri")}, **calendar}],
        "targets": {p: {"respond": "2h", "resolve": "2d", "calendar": "site"} for p in ("P1", "P2", "P3", "P4")},
        "by_category": {"fault > network": {"P3": {"respond": "1h", "resolve": "1d", "calendar": "24x7"}}},
    })


def test_holidays_and_the_local_timezone_shape_the_deadlines():
    policy = policy_with_calendar(holidays=["2026-04-03", "2026-04-06"])  # Good Friday, Easter Monday
    thursday = at("2026-04-02T14:00:00")  # 15:00 in London (BST): one open hour left that day
    d = policy.deadlines(Priority.P3, None, thursday)
    assert d.respond_by == at("2026-04-07T08:00:00")  # 09:00 BST on Tuesday after Easter
    assert d.resolve_by == at("2026-04-08T14:00:00")


def test_the_deadline_across_the_change_to_summer_time_keeps_local_business_hours():
    policy = policy_with_calendar()
    friday = at("2026-03-27T15:00:00")  # 15:00 GMT; clocks go forward on Sunday 29 March
    d = policy.deadlines(Priority.P4, None, friday)
    assert d.respond_by == at("2026-03-30T08:00:00")  # 1 h Friday, then 09:00 BST = 08:00 UTC Monday


def test_a_category_override_applies_to_that_branch_of_the_tree_only():
    policy = policy_with_calendar()
    start = at("2026-03-07T10:00:00")
    assert policy.target(Priority.P3, "fault > network > vpn").calendar == "24x7"
    assert policy.target(Priority.P3, "fault > networking").calendar == "site"
    assert policy.deadlines(Priority.P3, "fault > network", start).respond_by == at("2026-03-07T11:00:00")


def test_a_policy_must_name_known_calendars_and_cover_every_priority():
    with pytest.raises(ValueError, match="unknown calendars"):
        SlaPolicy.from_spec({"name": "x", "targets": {p: {"respond": "1h", "resolve": "1d", "calendar": "moon"}
                                                    for p in ("P1", "P2", "P3", "P4")}})
    with pytest.raises(ValueError, match="every priority"):
        SlaPolicy.from_spec({"name": "x", "targets": {"P1": {"respond": "1h", "resolve": "1d", "calendar": "24x7"}}})
    with pytest.raises(ValueError, match="bad SLA duration"):
        Duration.parse("4 weeks")


def test_categories_resolve_to_their_canonical_path_whatever_the_case_and_spacing():
    tree = CategoryTree()
    assert tree.resolve("Fault>Equipment >  Printer") == "fault > equipment > printer"
    assert tree.resolve("fault") == "fault"
    assert tree.resolve(None) is None
    with pytest.raises(Invalid) as error:
        tree.resolve("fault > toaster")
    assert error.value.field == "category" and "fault > equipment > printer" in error.value.message


def test_a_configured_category_tree_replaces_the_default():
    tree = CategoryTree({"rooms": ["cleaning", "minibar"]})
    assert tree.paths == ["rooms", "rooms > cleaning", "rooms > minibar"]
    assert CategoryTree.within("rooms > minibar", "rooms") and not CategoryTree.within("roomservice", "rooms")


def test_requests_that_read_alike_score_above_the_threshold_and_unrelated_ones_below():
    same = similarity("Printer jams", "The printer on floor 2 jams", "printer jams again", "floor 2 printer jams")
    other = similarity("Printer jams", "The printer on floor 2 jams", "VPN down", "cannot connect from home")
    assert same >= THRESHOLD > other
    assert similarity("x", "", "x", "") == 1.0
