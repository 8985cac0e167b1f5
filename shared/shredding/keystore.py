"""Where customers' data keys live: the `KeyStore` port and its PostgreSQL implementation.

A data key is 32 random bytes, stored only wrapped (AES-256-GCM under the master key from
configuration, the customer id as associated data, so a wrapped key copied to another row does not
unwrap). Erasure destroys the wrapped key and keeps the row: erasing twice is provably a no-op and an
erased customer never silently gets a new key. Production can put a KMS or Vault transit behind the
same port; here the per-service read policy is configuration (`readers`).
"""
from __future__ import annotations

import base64
import binascii
import os
from typing import Iterable, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.db import Conn, execute, fetch, ident
from shared.errors import InvalidTransition
from shared.shredding.crypto import KEY_BYTES

_NONCE_BYTES = 12


class Erased(InvalidTransition):
    """The customer was erased: their data key is gone and none will be made again (a command that
    would record their personal data is refused, 409)."""


class UnknownCustomer(LookupError):
    """No data key was ever made for this customer."""


class UnwrapFailed(RuntimeError):
    """A stored key does not unwrap: the master key is not the one it was wrapped with, or the row
    was altered. A configuration fault, never a reason to make a new key."""


@runtime_checkable
class KeyStore(Protocol):
    """Customers' data keys. Each method runs on the caller's connection, inside the caller's
    transaction if it has one: a key made for a command that rolls back is not kept."""

    async def key_for(self, conn: Conn, customer_id: str) -> bytes:
        """The customer's data key, made on first use (one key however many callers race).
        Raises Erased if the customer was erased, PermissionError if this service may not read keys."""
        ...

    async def existing_key(self, conn: Conn, customer_id: str) -> bytes | None:
        """The customer's data key, or None if they were erased or never had one; never makes one.
        Raises PermissionError if this service may not read keys."""
        ...

    async def keys_for(self, conn: Conn, customer_ids: Iterable[str]) -> dict[str, bytes | None]:
        """`key_for` for many customers at once: None for each erased one (rather than raising).
        Raises PermissionError if this service may not read keys."""
        ...

    async def existing_keys(self, conn: Conn, customer_ids: Iterable[str]) -> dict[str, bytes]:
        """`existing_key` for many customers at once: those with a live key (erased and unknown ones
        are left out). Raises PermissionError if this service may not read keys."""
        ...

    async def erase(self, conn: Conn, customer_id: str) -> bool:
        """Destroys the customer's data key: True if this call did, False if it was already gone.
        Raises UnknownCustomer if the customer never had a key."""
        ...

    async def erased(self, conn: Conn, customer_id: str) -> bool:
        """Whether the customer was erased (False for a customer never seen)."""
        ...


class PostgresKeyStore:
    """KeyStore in its own schema (`customer_keys`). No cache: reading an existing key is one
    primary-key SELECT, so an erasure, once committed, holds for every later read in every process. Key
    creation is race-free under READ COMMITTED (INSERT .. ON CONFLICT DO NOTHING, then SELECT); under
    REPEATABLE READ a racing creation may fail with a serialization error, to be retried.
    `erase` is not limited to `readers`: destroying a key discloses nothing, and who may ask for an
    erasure is decided by the endpoint that calls it.
    Erasure leaves the old wrapped key in the table's dead row version until VACUUM, and in WAL and
    backups: it stays wrapped, so the master key must be kept from whoever holds those."""

    def __init__(self, *, master_key: bytes, service: str, readers: frozenset[str], schema: str = "keystore") -> None:
        if len(master_key) != KEY_BYTES:
            raise ValueError(f"the master key must be {KEY_BYTES} bytes (AES-256), got {len(master_key)}")
        self.schema = ident(schema)
        self.service = service
        self.readers = readers
        self._master = AESGCM(master_key)
        self._table = f"{self.schema}.customer_keys"

    async def create_schema(self, conn: Conn) -> None:
        """Creates the schema and table if missing; for a service's migration (run one at a time:
        concurrent CREATE .. IF NOT EXISTS can still collide in PostgreSQL's catalogue)."""
        await execute(conn, f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
        await execute(conn, f"""CREATE TABLE IF NOT EXISTS {self._table} (
            customer_id text PRIMARY KEY,
            wrapped bytea,
            created_at timestamptz NOT NULL,
            erased_at timestamptz,
            CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
        )""")

    async def key_for(self, conn: Conn, customer_id: str) -> bytes:
        self._authorise()
        row = await self._row(conn, customer_id)
        if row is None:
            # A racer's uncommitted insert makes this wait for its commit; the SELECT after it then
            # sees the winner's key, so every caller ends with the one key that was kept.
            await execute(conn, f"INSERT INTO {self._table} (customer_id, wrapped, created_at) "
                                "VALUES ($1, $2, now()) ON CONFLICT (customer_id) DO NOTHING",
                          customer_id, self._wrap(customer_id, os.urandom(KEY_BYTES)))
            row = await self._row(conn, customer_id)
            if row is None:  # rows are never deleted: only a hand-made change gets here
                raise RuntimeError(f"customer {customer_id!r}'s key row vanished while being made")
        if row["wrapped"] is None:
            raise Erased(f"customer {customer_id!r} was erased")
        return self._unwrap(customer_id, row["wrapped"])

    async def existing_key(self, conn: Conn, customer_id: str) -> bytes | None:
        self._authorise()
        row = await self._row(conn, customer_id)
        return None if row is None or row["wrapped"] is None else self._unwrap(customer_id, row["wrapped"])

    async def keys_for(self, conn: Conn, customer_ids: Iterable[str]) -> dict[str, bytes | None]:
        self._authorise()
        wanted = sorted(set(customer_ids))
        rows = await self._rows(conn, wanted)
        missing = [c for c in wanted if c not in rows]
        if missing:  # as key_for: a racer's key, if it committed first, is the one every caller gets
            await execute(conn, f"INSERT INTO {self._table} (customer_id, wrapped, created_at) "
                                "SELECT * , now() FROM unnest($1::text[], $2::bytea[]) ON CONFLICT (customer_id) DO NOTHING",
                          missing, [self._wrap(c, os.urandom(KEY_BYTES)) for c in missing])
            rows.update(await self._rows(conn, missing))
        return {c: None if rows[c] is None else self._unwrap(c, rows[c]) for c in wanted}

    async def _rows(self, conn: Conn, customer_ids: list[str]) -> dict[str, bytes | None]:
        found = await fetch(conn, f"SELECT customer_id, wrapped FROM {self._table} WHERE customer_id = ANY($1::text[])",
                            customer_ids)
        return {row["customer_id"]: row["wrapped"] for row in found}

    async def existing_keys(self, conn: Conn, customer_ids: Iterable[str]) -> dict[str, bytes]:
        self._authorise()
        wanted = sorted(set(customer_ids))
        if not wanted:
            return {}
        rows = await fetch(conn, f"SELECT customer_id, wrapped FROM {self._table} "
                                 "WHERE customer_id = ANY($1::text[]) AND wrapped IS NOT NULL", wanted)
        return {row["customer_id"]: self._unwrap(row["customer_id"], row["wrapped"]) for row in rows}

    async def erase(self, conn: Conn, customer_id: str) -> bool:
        # One UPDATE, guarded by erased_at: of concurrent erasures exactly one touches the row.
        if await execute(conn, f"UPDATE {self._table} SET wrapped = NULL, erased_at = now() "
                               "WHERE customer_id = $1 AND erased_at IS NULL", customer_id):
            return True
        if await self._row(conn, customer_id) is None:
            raise UnknownCustomer(f"no data key was ever made for customer {customer_id!r}")
        return False

    async def erased(self, conn: Conn, customer_id: str) -> bool:
        row = await self._row(conn, customer_id)
        return row is not None and row["wrapped"] is None

    async def _row(self, conn: Conn, customer_id: str):  # noqa: ANN202 (an asyncpg Record or None)
        rows = await fetch(conn, f"SELECT wrapped FROM {self._table} WHERE customer_id = $1", customer_id)
        return rows[0] if rows else None

    def _authorise(self) -> None:
        if self.service not in self.readers:
            raise PermissionError(f"service {self.service!r} may not read customer data keys")

    def _wrap(self, customer_id: str, key: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, key, customer_id.encode())

    def _unwrap(self, customer_id: str, wrapped: bytes) -> bytes:
        try:
            return self._master.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], customer_id.encode())
        except (InvalidTag, ValueError):  # ValueError: cut too short to hold a nonce
            raise UnwrapFailed(f"customer {customer_id!r}'s data key does not unwrap under this master key "
                               "(another master key, or the row was altered)") from None


def master_key_from(text: str) -> bytes:
    """The master key from its configured text: standard base64 of exactly 32 bytes (for example
    `openssl rand -base64 32`). Raises ValueError otherwise, without repeating the text (a secret)."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the master key must be base64 of {KEY_BYTES} bytes; the text given is not base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"the master key must be base64 of {KEY_BYTES} bytes, got {len(key)} bytes")
    return key
