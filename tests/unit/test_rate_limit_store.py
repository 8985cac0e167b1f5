"""The per-client rate-limit store (shared/http/ratelimit.py): GCRA on the caller's clock, bounded memory."""
from __future__ import annotations

from datetime import timedelta

from shared.clock import FrozenClock
from shared.http.ratelimit import ClientLimit


def seconds(clock: FrozenClock) -> float:
    return clock.now().timestamp()


def test_a_client_spends_its_burst_then_waits_one_emission_interval_per_request():
    clock, limit = FrozenClock(), ClientLimit(per_minute=6, burst=3, max_clients=10)
    assert [limit.take("a", seconds(clock)) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.take("a", seconds(clock)) == 10.0
    assert limit.wait("a", seconds(clock)) == 10.0  # asking spends nothing
    clock.advance(seconds=9)
    assert limit.take("a", seconds(clock)) == 1.0
    clock.advance(seconds=1)
    assert limit.take("a", seconds(clock)) == 0.0
    assert limit.take("b", seconds(clock)) == 0.0  # another client has a budget of its own


def test_the_last_unit_of_a_burst_is_never_refused_by_a_rounding_error():
    clock, limit = FrozenClock(), ClientLimit(per_minute=7, burst=7, max_clients=10)
    clock.advance(seconds=0.123456)
    assert all(limit.take("a", seconds(clock)) == 0.0 for _ in range(7))
    assert limit.take("a", seconds(clock)) > 0


def test_memory_is_bounded_and_the_least_recently_seen_clients_are_forgotten_first():
    clock, limit = FrozenClock(), ClientLimit(per_minute=6, burst=1, max_clients=100)
    limit.take("spent", seconds(clock))
    for n in range(10_000):
        limit.take(f"addr-{n}", seconds(clock))
        if n % 50 == 0:
            limit.take("spent", seconds(clock))  # seen often: stays remembered, and stays refused
    assert len(limit) <= 100
    assert limit.take("spent", seconds(clock)) > 0
    assert limit.take("addr-0", seconds(clock)) == 0.0  # forgotten, so a fresh budget


def test_a_clock_set_back_gives_a_fresh_budget_rather_than_a_long_lockout():
    clock, limit = FrozenClock(), ClientLimit(per_minute=6, burst=2, max_clients=10)
    start = clock.now()
    clock.advance(timedelta(days=3))
    limit.take("a", seconds(clock))
    limit.take("a", seconds(clock))
    clock.set(start)  # tests move a FrozenClock back; a stepped system clock can too
    assert limit.take("a", seconds(clock)) == 0.0


def test_a_rate_of_zero_turns_the_limit_off():
    clock, limit = FrozenClock(), ClientLimit(per_minute=0, burst=1, max_clients=10)
    assert all(limit.take("a", seconds(clock)) == 0.0 for _ in range(1000))
    assert len(limit) == 0
