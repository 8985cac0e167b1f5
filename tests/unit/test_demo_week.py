"""The demo's simulated clock and its planned week (pure)."""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from services.dispatch.domain.skills import SkillMap
from services.intake.domain.categories import CategoryTree
from shared.clock import ScaledClock, SystemClock, clock_from
from shared.demo.week import NEEDS, plan, roster
from shared.settings import Settings

MONDAY = datetime(2026, 11, 16, tzinfo=timezone.utc)


def test_scaled_clocks_with_the_same_anchor_agree_run_fast_and_stand_still_at_the_end() -> None:
    anchor = 1_800_000_000.0
    a = ScaledClock(MONDAY, 3600, anchor, end=MONDAY + timedelta(days=1))
    b = ScaledClock(MONDAY, 3600, anchor, end=MONDAY + timedelta(days=1))
    first, second = a.now(), b.now()
    assert abs((second - first).total_seconds()) < 3600  # the same instant, give or take the microseconds between reads
    assert a.real_seconds(timedelta(hours=2)) == 2
    late = ScaledClock(MONDAY, 3600, anchor=0, end=MONDAY + timedelta(days=1))  # long past its end
    assert late.now() == MONDAY + timedelta(days=1)
    early = ScaledClock(MONDAY, 1, anchor=4_000_000_000.0)  # before its anchor: before its start
    assert early.now() < MONDAY
    with pytest.raises(ValueError):
        ScaledClock(datetime(2026, 11, 16), 10)
    with pytest.raises(ValueError):
        ScaledClock(MONDAY, 0)


def test_the_services_read_the_system_clock_unless_told_to_simulate() -> None:
    assert isinstance(clock_from(Settings()), SystemClock)
    simulated = clock_from(Settings(clock_start=MONDAY, clock_rate=100, clock_anchor=0))
    assert isinstance(simulated, ScaledClock) and simulated.rate == 100


def test_a_seed_plays_the_same_week_shaped_as_desks_see_it() -> None:
    week = plan(MONDAY, 7, 60, random.Random(3))
    again = plan(MONDAY, 7, 60, random.Random(3))
    assert [(a.at, a.body) for a in week] == [(a.at, a.body) for a in again]
    assert [a.at for a in week] == sorted(a.at for a in week)
    assert all(MONDAY <= a.at < MONDAY + timedelta(days=7) for a in week)
    by_day = Counter(a.at.weekday() for a in week)
    assert by_day[0] > by_day[5] > 0 and by_day[0] > by_day[6]  # Monday busiest, weekend quiet
    by_hour = Counter(a.at.hour for a in week)
    assert by_hour[10] > 3 * by_hour[3]  # mornings, not nights
    assert 300 < len(week) < 450  # ~60 on an ordinary day, shaped
    stories = [a.story for a in week]
    for twist in ("decline", "escalate", "reject", "withdraw"):
        assert any(getattr(s, twist) for s in stories), twist
    assert any(s.pause_for for s in stories) and any(s.answers_after is None for s in stories)
    assert {s.feedback for s in stories} >= {"complaint", "praise", None}
    assert all(1 <= s.survey[0] <= 5 and 0 <= s.survey[1] <= 10 for s in stories if s.survey)


def test_every_need_the_week_brings_is_one_intake_knows_and_two_technicians_can_do() -> None:
    tree, skills, technicians = CategoryTree(), SkillMap(), roster("UTC")
    for category in NEEDS:
        assert tree.resolve(category) == category
        needed = skills.required(category.split(" > ")[0], category)
        able = [t for t in technicians if set(needed) <= set(t.skills)]
        assert len(able) >= 2, (category, needed)
    for tech in technicians:
        assert tech.calendar().is_open(MONDAY + timedelta(hours=13))  # early and late overlap at 13:00
