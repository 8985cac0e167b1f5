"""Tokens, the injectable clock and deterministic ids."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.aggregate import IdSource
from shared.auth import InvalidToken, Role, TokenService
from shared.clock import FrozenClock
from shared.settings import Settings


def test_a_minted_token_verifies_to_its_role_and_subject():
    tokens = TokenService(Settings())
    principal = tokens.verify(tokens.mint(Role.technician, "tech-9"))
    assert (principal.role, principal.subject) == (Role.technician, "tech-9")


def test_expired_foreign_and_tampered_tokens_are_refused():
    clock = FrozenClock()
    past = TokenService(Settings(), clock).mint(Role.agent, "a", ttl=timedelta(minutes=1))
    with pytest.raises(InvalidToken):
        TokenService(Settings()).verify(past)  # minted in the clock's 2026-01, long expired
    foreign = TokenService(Settings(jwt_secret="another-secret-of-enough-length-123")).mint(Role.admin, "x")
    with pytest.raises(InvalidToken):
        TokenService(Settings()).verify(foreign)
    other_audience = TokenService(Settings(jwt_audience="elsewhere")).mint(Role.admin, "x")
    with pytest.raises(InvalidToken):
        TokenService(Settings()).verify(other_audience)
    good = TokenService(Settings()).mint(Role.agent, "a")
    with pytest.raises(InvalidToken):
        TokenService(Settings()).verify(good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"))


def test_the_frozen_clock_moves_only_when_told():
    clock = FrozenClock()
    start = clock.now()
    assert clock.now() == start
    assert clock.advance(hours=2) == start + timedelta(hours=2)


def test_ids_from_the_same_seed_repeat_and_ids_without_one_do_not():
    assert [IdSource("k").next() for _ in range(2)] == [IdSource("k").next()] * 2
    seeded = IdSource("k")
    assert seeded.next() != seeded.next()
    assert IdSource().next() != IdSource().next()
