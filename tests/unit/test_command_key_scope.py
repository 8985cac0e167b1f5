"""A command's key look-ups are kept for that command only: a scope that outlived it would keep a
key an erasure has since destroyed (shared.shredding.keyring, shared.unit_of_work)."""
from __future__ import annotations

from typing import Any

import pytest

from shared.aggregate import IdSource
from shared.shredding import keyring
from shared.unit_of_work import UnitOfWork


class Unit(UnitOfWork):
    def __init__(self, begin_fails: bool = False) -> None:
        super().__init__(IdSource())
        self.begin_fails = begin_fails

    async def _begin(self) -> None:
        if self.begin_fails:
            raise ConnectionError("the database is restarting")

    async def _commit(self) -> None: ...
    async def _end(self, *exc: Any) -> None: ...
    async def rollback(self) -> None: ...
    async def remembered(self, scope: str, key: str) -> None: ...
    async def remember(self, scope: str, key: str, body_hash: str, status: int, body: Any) -> None: ...


def scope() -> dict[str, bytes | None] | None:
    return keyring._COMMAND_KEYS.get()


async def test_each_command_has_a_scope_of_its_own_which_ends_with_it():
    assert scope() is None
    async with Unit():
        outer = scope()
        assert outer == {}
        outer["cust-1"] = b"k" * 32
        async with Unit():  # a command carried out inside another (a follower's) starts afresh
            assert scope() == {}
        assert scope() is outer
    assert scope() is None


async def test_a_command_whose_unit_fails_to_begin_leaves_no_scope_behind():
    with pytest.raises(ConnectionError):
        async with Unit(begin_fails=True):
            pass
    assert scope() is None


async def test_a_failed_command_leaves_no_scope_behind():
    with pytest.raises(RuntimeError):
        async with Unit():
            raise RuntimeError("the handler failed")
    assert scope() is None
