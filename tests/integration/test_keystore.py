"""PostgresKeyStore on real PostgreSQL: one data key per customer, created once even under a race,
stored only wrapped, destroyed for good by erasure, read only by the services allowed to."""
from __future__ import annotations

import asyncio
import base64
import os
import uuid

import pytest

from shared.db import Database
from shared.shredding.crypto import Tampered, seal, unseal
from shared.shredding.keystore import (
    Erased,
    KeyStore,
    PostgresKeyStore,
    UnknownCustomer,
    UnwrapFailed,
    master_key_from,
)

pytestmark = pytest.mark.postgres
MASTER = os.urandom(32)


@pytest.fixture
async def keys(db: Database) -> PostgresKeyStore:
    store = PostgresKeyStore(schema=f"k_{uuid.uuid4().hex[:10]}", master_key=MASTER, service="intake",
                             readers=frozenset({"intake", "feedback"}))
    async with db.begin() as conn:
        await store.create_schema(conn)
        await store.create_schema(conn)  # a migration run twice changes nothing
    return store


def customer() -> str:
    return f"cust-{uuid.uuid4().hex[:8]}"


async def test_it_is_a_keystore(keys: PostgresKeyStore):
    assert isinstance(keys, KeyStore)


async def test_the_first_use_creates_the_key_and_later_ones_return_it(db: Database, keys: PostgresKeyStore):
    c = customer()
    async with db.connect() as conn:
        assert await keys.existing_key(conn, c) is None  # never creates
        first = await keys.key_for(conn, c)
        assert len(first) == 32
        assert await keys.key_for(conn, c) == first
        assert await keys.existing_key(conn, c) == first
        assert await keys.key_for(conn, customer()) != first
        assert not await keys.erased(conn, c)


async def test_a_key_made_in_a_transaction_rolled_back_is_not_kept(db: Database, keys: PostgresKeyStore):
    c = customer()
    with pytest.raises(RuntimeError):
        async with db.begin() as conn:
            await keys.key_for(conn, c)
            raise RuntimeError("the command failed")
    async with db.connect() as conn:
        assert await keys.existing_key(conn, c) is None


async def test_concurrent_first_uses_end_with_one_key_per_customer(db: Database, keys: PostgresKeyStore):
    customers = [customer() for _ in range(20)]

    async def use(c: str) -> bytes:
        async with db.begin() as conn:  # each caller in its own transaction, as a command would be
            return await keys.key_for(conn, c)

    got = await asyncio.gather(*(use(c) for c in customers for _ in range(3)))
    by_customer: dict[str, set[bytes]] = {}
    for c, key in zip([c for c in customers for _ in range(3)], got, strict=True):
        by_customer.setdefault(c, set()).add(key)
    assert all(len(k) == 1 for k in by_customer.values())
    assert len({next(iter(k)) for k in by_customer.values()}) == 20
    async with db.connect() as conn:
        rows = await conn.fetch(f"SELECT customer_id, count(*) AS n FROM {keys.schema}.customer_keys GROUP BY 1")
    assert {r["customer_id"]: r["n"] for r in rows} == {c: 1 for c in customers}


async def test_twenty_racers_on_one_new_customer_all_get_the_same_key(db: Database, keys: PostgresKeyStore):
    c = customer()

    async def use() -> bytes:
        async with db.begin() as conn:
            return await keys.key_for(conn, c)

    assert len(set(await asyncio.gather(*(use() for _ in range(20))))) == 1


async def test_the_stored_key_is_wrapped_and_gone_after_erasure(db: Database, keys: PostgresKeyStore):
    c = customer()
    async with db.connect() as conn:
        key = await keys.key_for(conn, c)
        wrapped = await conn.fetchval(f"SELECT wrapped FROM {keys.schema}.customer_keys WHERE customer_id = $1", c)
        assert wrapped is not None and key not in bytes(wrapped)
        assert await keys.erase(conn, c) is True
        row = await conn.fetchrow(f"SELECT wrapped, erased_at FROM {keys.schema}.customer_keys WHERE customer_id = $1", c)
    assert row["wrapped"] is None and row["erased_at"] is not None


async def test_erasure_makes_the_data_unreadable_and_is_idempotent(db: Database, keys: PostgresKeyStore):
    c = customer()
    async with db.connect() as conn:
        token = seal(await keys.key_for(conn, c), c, "contact.name", "Ada Lovelace")
        assert await keys.erase(conn, c) is True
        assert await keys.erased(conn, c)
        with pytest.raises(Erased):
            await keys.key_for(conn, c)  # and no new key is made in its place
        assert await keys.existing_key(conn, c) is None
        assert await keys.erase(conn, c) is False
        assert await conn.fetchval(f"SELECT count(*) FROM {keys.schema}.customer_keys WHERE customer_id = $1", c) == 1
    with pytest.raises(Tampered):  # whatever key one might try now, e.g. a fresh one
        unseal(os.urandom(32), c, "contact.name", token)


async def test_concurrent_erasures_report_one_erasure(db: Database, keys: PostgresKeyStore):
    c = customer()
    async with db.connect() as conn:
        await keys.key_for(conn, c)

    async def erase() -> bool:
        async with db.begin() as conn:
            return await keys.erase(conn, c)

    assert sorted(await asyncio.gather(*(erase() for _ in range(5)))) == [False] * 4 + [True]


async def test_an_unknown_customer_cannot_be_erased(db: Database, keys: PostgresKeyStore):
    async with db.connect() as conn:
        with pytest.raises(UnknownCustomer):
            await keys.erase(conn, customer())
        assert not await keys.erased(conn, customer())


async def test_a_service_that_is_no_reader_gets_no_key(db: Database, keys: PostgresKeyStore):
    c = customer()
    analytics = PostgresKeyStore(schema=keys.schema, master_key=MASTER, service="analytics",
                                 readers=frozenset({"intake", "feedback"}))
    async with db.connect() as conn:
        await keys.key_for(conn, c)
        with pytest.raises(PermissionError, match="analytics"):
            await analytics.key_for(conn, c)
        with pytest.raises(PermissionError, match="analytics"):
            await analytics.existing_key(conn, customer())  # refused before it even looks


async def test_a_wrong_master_key_cannot_unwrap(db: Database, keys: PostgresKeyStore):
    c = customer()
    wrong = PostgresKeyStore(schema=keys.schema, master_key=os.urandom(32), service="intake",
                             readers=frozenset({"intake"}))
    async with db.connect() as conn:
        await keys.key_for(conn, c)
        with pytest.raises(UnwrapFailed, match="master key"):
            await wrong.key_for(conn, c)
        with pytest.raises(UnwrapFailed):
            await wrong.existing_key(conn, c)


async def test_a_wrapped_key_moved_to_another_customer_does_not_unwrap(db: Database, keys: PostgresKeyStore):
    a, b = customer(), customer()
    async with db.connect() as conn:
        await keys.key_for(conn, a)
        await keys.key_for(conn, b)
        await conn.execute(f"UPDATE {keys.schema}.customer_keys SET wrapped = "
                           f"(SELECT wrapped FROM {keys.schema}.customer_keys WHERE customer_id = $1) "
                           f"WHERE customer_id = $2", a, b)
        with pytest.raises(UnwrapFailed):
            await keys.key_for(conn, b)


def test_the_master_key_is_read_from_base64():
    raw = os.urandom(32)
    assert master_key_from(base64.b64encode(raw).decode()) == raw
    assert master_key_from(" " + base64.b64encode(raw).decode() + "\n") == raw


@pytest.mark.parametrize("text", ["", "not base64 at all!", base64.b64encode(bytes(16)).decode(),
                                  base64.b64encode(bytes(33)).decode()])
def test_a_bad_master_key_is_refused_without_echoing_it(text: str):
    with pytest.raises(ValueError, match="32 bytes") as caught:
        master_key_from(text)
    assert not text.strip() or text.strip() not in str(caught.value)


def test_the_store_refuses_a_short_master_key():
    with pytest.raises(ValueError, match="32 bytes"):
        PostgresKeyStore(master_key=bytes(16), service="intake", readers=frozenset({"intake"}))


async def test_a_truncated_wrapped_key_does_not_unwrap(db: Database, keys: PostgresKeyStore):
    c = customer()
    async with db.connect() as conn:
        await keys.key_for(conn, c)
        await conn.execute(f"UPDATE {keys.schema}.customer_keys SET wrapped = '\\x0102'::bytea WHERE customer_id = $1", c)
        with pytest.raises(UnwrapFailed):
            await keys.key_for(conn, c)


async def test_many_keys_at_once_are_the_same_keys_one_at_a_time_and_erased_ones_are_none(db: Database,
                                                                                           keys: PostgresKeyStore):
    known, new, gone = customer(), customer(), customer()
    async with db.connect() as conn:
        known_key = await keys.key_for(conn, known)
        await keys.key_for(conn, gone)
        await keys.erase(conn, gone)
        batch = await keys.keys_for(conn, [known, new, gone, new])
        assert batch == {known: known_key, new: await keys.existing_key(conn, new), gone: None}
        assert await keys.existing_keys(conn, [known, new, gone, customer()]) == {known: known_key, new: batch[new]}


async def test_racing_batches_agree_on_each_new_customers_key(db: Database, keys: PostgresKeyStore):
    customers = [customer() for _ in range(20)]

    async def batch() -> dict[str, bytes | None]:
        async with db.connect() as conn:
            return await keys.keys_for(conn, customers)

    results = await asyncio.gather(*(batch() for _ in range(6)))
    assert all(r == results[0] for r in results) and all(results[0].values())


async def test_a_service_that_may_not_read_keys_gets_none_in_a_batch_either(db: Database, keys: PostgresKeyStore):
    writer = PostgresKeyStore(schema=keys.schema.strip('"'), master_key=MASTER, service="dispatch",
                              readers=keys.readers)
    async with db.connect() as conn:
        with pytest.raises(PermissionError):
            await writer.keys_for(conn, [customer()])
        with pytest.raises(PermissionError):
            await writer.existing_keys(conn, [customer()])
