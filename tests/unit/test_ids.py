"""The ids every event and request gets: valid version-4 UUIDs, never repeated, fork-safe."""
from __future__ import annotations

import os
import uuid

from shared.ids import new_uuid


def test_a_new_id_is_a_canonical_version_4_uuid() -> None:
    for _ in range(2000):  # more than one block, so the refill is exercised too
        text = new_uuid()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_ids_do_not_repeat() -> None:
    ids = [new_uuid() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_reuse_the_parents_pool() -> None:
    new_uuid()  # the pool now holds ids the parent has not handed out yet
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, new_uuid().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert child not in {new_uuid() for _ in range(300)}
