"""`RecentlyOpened`: what a customer's tokens opened to last time is taken from there only where the
values repeat it, and whatever the lists, the answer is what opening each value gives."""
from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.shredding.recent import RecentlyOpened


class Opener:
    """Opens a value to its upper case, counting what it was asked to open."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def __call__(self, values: list[Any]) -> list[Any]:
        self.asked.extend(values)
        return [v.upper() for v in values]


def test_a_new_request_in_front_of_the_last_list_opens_only_its_own_texts() -> None:
    recent, opener = RecentlyOpened(8), Opener()
    assert recent.opened("c1", ["t1", "d1"], opener) == ["T1", "D1"]
    assert recent.opened("c1", ["t2", "d2", "t1", "d1"], opener) == ["T2", "D2", "T1", "D1"]
    assert opener.asked == ["t1", "d1", "t2", "d2"]


def test_the_oldest_dropped_at_the_end_opens_nothing() -> None:
    recent, opener = RecentlyOpened(8), Opener()
    recent.opened("c1", ["t2", "d2", "t1", "d1"], opener)
    opener.asked.clear()
    assert recent.opened("c1", ["t3", "d3", "t2", "d2"], opener) == ["T3", "D3", "T2", "D2"]
    assert opener.asked == ["t3", "d3"]


def test_a_request_gone_from_the_middle_or_edited_opens_the_whole_list_again() -> None:
    recent, opener = RecentlyOpened(8), Opener()
    recent.opened("c1", ["t3", "d3", "t2", "d2", "t1", "d1"], opener)
    opener.asked.clear()
    assert recent.opened("c1", ["t3", "d3", "t1", "d1"], opener) == ["T3", "D3", "T1", "D1"]
    assert opener.asked == ["t3", "d3", "t1", "d1"]
    opener.asked.clear()
    assert recent.opened("c1", ["t3", "e3", "t1", "d1"], opener) == ["T3", "E3", "T1", "D1"]
    assert opener.asked == ["t3", "e3", "t1", "d1"]


def test_customers_are_kept_apart_forgotten_on_erasure_and_the_least_recent_dropped() -> None:
    recent, opener = RecentlyOpened(2), Opener()
    recent.opened("c1", ["a"], opener)
    recent.opened("c2", ["b"], opener)
    recent.opened("c1", ["a"], opener)  # c1 seen again: c2 is now the least recent
    recent.opened("c3", ["c"], opener)
    opener.asked.clear()
    recent.opened("c1", ["a"], opener)
    recent.opened("c2", ["b"], opener)
    assert opener.asked == ["b"]
    recent.forget("c2")
    opener.asked.clear()
    recent.opened("c2", ["b"], opener)
    assert opener.asked == ["b"]


values = st.lists(st.sampled_from(["t1", "d1", "t2", "d2", "t3", "d3", "t4", "d4"]), max_size=10)


@given(st.lists(values, min_size=1, max_size=5))
def test_whatever_the_lists_each_value_opens_to_what_opening_it_gives(lists: list[list[str]]) -> None:
    recent, opener = RecentlyOpened(4), Opener()
    for listed in lists:
        assert recent.opened("c1", listed, opener) == [v.upper() for v in listed]
