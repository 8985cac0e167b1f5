"""A service's way to its customers' keys: sealing what it records, opening what it shows, recording
who read what, and erasing.

Every service holds one (`ServiceRuntime.keys`), on a connection pool of its own to the key store's
database (`KEYSTORE_DATABASE_URL`, by default the service's): a key store that cannot be reached
fails the command that needs a key with 503, and nothing is written in its place. Every read, and
every command, looks the keys it uses up in the key store (batched with concurrent ones; a command
looks each customer's key up once): what a process keeps (cipher objects, values already opened)
is used only once that look-up found the key live, so an erasure, once committed, holds for every
later read and command in every process.
"""
from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

from shared.batching import BatchLoader
from shared.clock import Clock
from shared.db import Database, HeldConnection, execute, fetch, ident
from shared.envelope import Envelope
from shared.keys import MissingSecret, configured_secret
from shared.settings import DEV_KEYSTORE_MASTER_KEY, ServiceSettings
from shared.shredding.crypto import ERASED, is_sealed, open_token, owner_of, seal
from shared.shredding.fields import (
    customer_of,
    customers_in,
    open_all,
    open_tokens,
    tokens_in,
    unsealed,
    value_at,
)
from shared.shredding.keystore import Erased, KeyStore, PostgresKeyStore, master_key_from
from shared.shredding.recent import RecentlyOpened

ANSWER_PATH = "answer"  # the field path an answer kept under an idempotency key is sealed as
SEALED_ANSWER = "sealed_answer"
_LOCK = 0x5E7_5EA1  # advisory lock: one process at a time creates the key store's tables


# The keys looked up during the command being carried out, by customer (None outside one): a
# command looks each customer's key up once, whether to compare what it holds or to seal what it
# records. An erasure committed meanwhile holds from the next command on, as it would had the
# command run a moment earlier.
# Each is the look-up's future: begun early (`prefetch`), it is awaited by what needs the key.
Scope = dict[str, "asyncio.Future[bytes | None]"]
_COMMAND_KEYS: ContextVar[Scope | None] = ContextVar("servicetrail_command_keys", default=None)


def command_began() -> Token[Scope | None]:
    """Opens a command's scope of key look-ups (a unit of work calls it when entered)."""
    return _COMMAND_KEYS.set({})


def command_ended(token: Token[Scope | None]) -> None:
    _COMMAND_KEYS.reset(token)


OPENED_CACHE = 131_072  # values kept opened in a process, by token: about 50 MB when full
# Customers whose last compared values a process keeps (`RecentlyOpened`): at most a request's
# comparison's 100 tokens and texts each, about 25 kB; a customer with one open request, 1 kB.
RECENT_CUSTOMERS = 4_096


class OpenedValues(OrderedDict[str, tuple[str, str, Any]]):
    """Values already opened, by token, the oldest dropped first. A token holds one value for good,
    so this is never stale; it is read only once the customer's key was found live in the same
    call (`open_all`), so an erasure holds here as everywhere. It spares opening again what was
    opened a moment ago: a customer's open requests, compared at each new one; a queue read over
    and over."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, token: str, value: tuple[str, str, Any]) -> None:
        if len(self) >= self.limit:
            # An OrderedDict drops its oldest at once; a dict would scan its deleted slots from the
            # front each time, a cost that grows with every value dropped until it resizes.
            self.popitem(last=False)
        super().__setitem__(token, value)

    def forget(self, customer_id: str) -> None:
        """Drops what this process opened of an erased customer's (it is never read again anyway)."""
        for token in [t for t, (customer, _, _) in self.items() if customer == customer_id]:
            del self[token]


@dataclass(frozen=True)
class Reader:
    """Who reads personal data, and through which endpoint (what the access log records)."""

    subject: str
    role: str
    endpoint: str

    @classmethod
    def of(cls, subject: str, role: str, method: str, path: str) -> "Reader":
        return cls(subject, role, f"{method} {path}")


class KeyRing:
    def __init__(self, store: KeyStore, db: Database, clock: Clock, service: str, schema: str = "keystore") -> None:
        self.store, self.db, self.clock, self.service = store, db, clock, service
        self.schema = ident(schema)
        # Concurrent commands' key look-ups, and concurrent reads' log entries, share one statement
        # (on the hot path, a submit, each would otherwise cost a round trip of its own).
        self._sealing_keys: BatchLoader[str, bytes | None] = BatchLoader(self._keys_for, default=None)
        self._log: BatchLoader[tuple[Any, ...], None] = BatchLoader(self._write_log, default=None)
        self._entries = itertools.count()
        # Sealing's look-ups, one batch at a time, keep a connection: a checkout from the pool and
        # back costs more CPU than their statement (`HeldConnection`).
        self._held_keys = HeldConnection(db)
        self._opened = OpenedValues(OPENED_CACHE)
        self._recent = RecentlyOpened(RECENT_CUSTOMERS)
        self._kept_opened: frozenset[str] = frozenset()

    async def prepare(self) -> None:
        """Creates the key store's tables (its own schema) if missing; every service calls it on start."""
        async with self.db.connect() as conn, conn.transaction():
            await execute(conn, "SELECT pg_advisory_xact_lock($1)", _LOCK)
            await self.store.create_schema(conn)  # type: ignore[attr-defined]
            await execute(conn, f"""CREATE TABLE IF NOT EXISTS {self.schema}.access_log (
                id bigserial PRIMARY KEY,
                at timestamptz NOT NULL,
                service text NOT NULL,
                subject text NOT NULL,
                role text NOT NULL,
                endpoint text NOT NULL,
                customer_id text NOT NULL,
                fields text[] NOT NULL
            )""")
            await execute(conn, f"CREATE INDEX IF NOT EXISTS access_log_customer ON {self.schema}.access_log "
                                "(customer_id, at DESC, id DESC)")

    # -- sealing what is recorded -------------------------------------------------------------

    async def seal(self, data: Sequence[dict[str, Any]], paths: Sequence[Sequence[str]],
                   customer_id: str | None) -> list[dict[str, Any]]:
        """Each event's `data` with its personal `paths` sealed under `customer_id`'s key (made on
        first use). Raises `Erased` for an erased customer with a plain value to seal, and
        RuntimeError if a personal field holds a plain value and nobody is named whose it is."""
        found = [unsealed(d, p) if p else None for d, p in zip(data, paths, strict=True)]
        if not any(f is not None and f.places for f in found):
            return list(data)
        if customer_id is None:
            raise RuntimeError("an event holds personal data and its aggregate names no customer")
        key = await self._key_for(customer_id)
        return [f.sealed(customer_id, key, self._kept_opened, self._opened) if f is not None and f.places else d
                for d, f in zip(data, found, strict=True)]

    def keep_opened(self, paths: Iterable[str]) -> None:
        """Values this process seals at these paths are kept opened as they are sealed: what it
        compares soon after (intake: each new request's title and description, compared at the
        customer's next one), which would otherwise be opened once more then."""
        self._kept_opened = frozenset(paths)

    async def seal_answer(self, body: Any, customer_ids: Iterable[str]) -> Any:
        """An answer to keep under an idempotency key, sealed whole under the key of each customer
        whose data it may hold (erasing any of them makes it unreadable), as `{"sealed_answer":
        token}`. An erased customer's fields in it read `[erased]` already: their key is skipped."""
        sealed = False
        for customer in sorted(set(customer_ids)):
            key = await self._live_key(customer)
            if key is not None:
                body, sealed = seal(key, customer, ANSWER_PATH, body), True
        return {SEALED_ANSWER: body} if sealed else body

    async def open_answer(self, body: Any) -> tuple[Any, bool]:
        """A kept answer opened; and False if it cannot be (a customer it was sealed for was erased)."""
        if not (isinstance(body, dict) and set(body) == {SEALED_ANSWER}):
            return body, True
        body = body[SEALED_ANSWER]
        while is_sealed(body):
            customer, _ = owner_of(body)
            key = (await self._keys({customer})).get(customer)
            if key is None:
                return None, False
            body = open_token(key, body)
        return body, True

    # -- opening what is shown ----------------------------------------------------------------

    async def open(self, value: Any) -> tuple[Any, dict[str, set[str]]]:
        """`value` with its tokens opened (`[erased]` where the key is gone), and the field paths
        opened per customer. Use `reveal` to answer a reader: it records the read."""
        tokens = tokens_in(value)
        if not tokens:
            return value, {}
        customers = {known[0] if (known := self._opened.get(t)) else customer_of(t) for t in tokens}
        return open_all(value, await self._keys(customers), self._opened)

    async def open_own(self, customer_id: str, values: Sequence[Any]) -> list[Any]:
        """What each of `values`, tokens of the customer a command records data of, opens to, in
        order (see `fields.open_tokens`). Their key is looked up as sealing looks it up (made on
        first use), once for the command. Records no read: for a command that compares, not shows.
        What the customer's previous command opened is taken from there (`RecentlyOpened`)."""
        if not values:
            return []
        keys = {customer_id: await self._live_key(customer_id)}

        def opened(some: list[Any]) -> list[Any]:
            plain = open_tokens(some, keys, self._opened)
            return [plain[value] for value in some]

        if keys[customer_id] is None:
            self._recent.forget(customer_id)
            return opened(list(values))
        return self._recent.opened(customer_id, list(values), opened)

    async def open_envelopes(self, envelopes: Sequence[Envelope]) -> list[Envelope]:
        sealed = [e for e in envelopes if e.personal]
        if not sealed:
            return list(envelopes)
        keys = await self._keys(set().union(*(customers_in(e.data) for e in sealed)))
        return [replace(e, data=open_all(e.data, keys, self._opened)[0]) if e.personal else e for e in envelopes]

    async def reveal(self, value: Any, reader: Reader) -> Any:
        """`value` opened for `reader`, each customer's fields read recorded in the access log first
        (a read that cannot be recorded is not answered)."""
        opened_value, opened = await self.open(value)
        await self.record(reader, opened)
        return opened_value

    async def record_shown(self, reader: Reader, customer_id: str, view: Any, paths: Iterable[str]) -> None:
        """Records that `reader` was shown `view`, a customer's data: the `paths` of it that hold a value."""
        shown = {p for p in paths if value_at(view, p) not in (None, ERASED)}
        await self.record(reader, {customer_id: shown} if shown else {})

    async def record(self, reader: Reader, opened: dict[str, set[str]]) -> None:
        """Records that `reader` read these fields of these customers (names only, never values)."""
        at = self.clock.now()
        for customer, fields in sorted(opened.items()):
            # The running number keeps two equal reads at one instant two entries.
            await self._log.load((next(self._entries), at, self.service, reader.subject, reader.role, reader.endpoint,
                                  customer, tuple(sorted(fields))))

    async def _write_log(self, entries: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], None]:
        # One statement for the batch; the fields, ragged arrays, travel joined (unnest takes none).
        columns = list(zip(*(e[1:7] for e in entries), strict=True))
        async with self.db.connect() as conn:
            await execute(
                conn, f"INSERT INTO {self.schema}.access_log (at, service, subject, role, endpoint, customer_id, fields) "
                      "SELECT at, service, subject, role, endpoint, customer_id, string_to_array(fields, ',') FROM "
                      "unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) "
                      "AS e(at, service, subject, role, endpoint, customer_id, fields)",
                *(list(c) for c in columns), [",".join(e[7]) for e in entries])
        return {}

    # -- erasure and the log ------------------------------------------------------------------

    async def erase(self, customer_id: str) -> bool:
        """Destroys the customer's key: True if this call did, False if it was gone already.
        Raises `UnknownCustomer` if the customer never had one."""
        async with self.db.connect() as conn:
            erased = await self.store.erase(conn, customer_id)
        if (seen := _COMMAND_KEYS.get()) is not None:
            seen[customer_id] = gone = asyncio.get_running_loop().create_future()
            gone.set_result(None)
        self._opened.forget(customer_id)
        self._recent.forget(customer_id)
        return erased

    async def accesses(self, customer_id: str, limit: int, before: int | None) -> list[dict[str, Any]]:
        """The customer's access log, newest first, `limit` entries older than entry `before`."""
        async with self.db.connect() as conn:
            rows = await fetch(
                conn, f"SELECT id, at, service, subject, role, endpoint, fields FROM {self.schema}.access_log "
                      "WHERE customer_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
                customer_id, before, limit)
        return [dict(row) for row in rows]

    async def _key_for(self, customer_id: str) -> bytes:
        key = await self._live_key(customer_id)
        if key is None:
            raise Erased(f"customer {customer_id!r} was erased: their personal data is not recorded again")
        return key

    def prefetch(self, customer_id: str) -> None:
        """Begins the command's look-up of the customer's key (as sealing looks it up), for whatever
        needs it next in the command: begun beside another look-up, it adds no round trip's wait
        of its own, and concurrent commands' look-ups gather into fewer statements."""
        if (seen := _COMMAND_KEYS.get()) is not None and customer_id not in seen:
            seen[customer_id] = self._sealing_keys.future(customer_id)

    async def _live_key(self, customer_id: str) -> bytes | None:
        """The customer's key (made on first use; None once erased), looked up once per command."""
        seen = _COMMAND_KEYS.get()
        if seen is None:
            return await self._sealing_keys.load(customer_id)
        if customer_id not in seen:
            seen[customer_id] = self._sealing_keys.future(customer_id)
        return await seen[customer_id]

    async def _keys_for(self, customers: Sequence[str]) -> dict[str, bytes | None]:
        async with self._held_keys.use() as conn:
            return await self.store.keys_for(conn, customers)

    async def close(self) -> None:
        """Gives back its connections (the one kept for sealing's look-ups, then the pool)."""
        await self._held_keys.release()
        await self.db.dispose()

    async def _keys(self, customers: set[str]) -> dict[str, bytes]:
        async with self.db.connect() as conn:
            return await self.store.existing_keys(conn, customers)



def master_key(settings: ServiceSettings) -> bytes:
    """KEYSTORE_MASTER_KEY as bytes; MissingSecret (a one-line refusal to start) if unset or malformed."""
    text = configured_secret(settings.keystore_master_key, DEV_KEYSTORE_MASTER_KEY, settings.dev_secrets,
                             "KEYSTORE_MASTER_KEY is not set: customers' data keys are wrapped by it "
                             "(base64 of 32 bytes); DEV_SECRETS=true is for local development only")
    try:
        return master_key_from(text)
    except ValueError as exc:
        raise MissingSecret(f"KEYSTORE_MASTER_KEY: {exc}") from None


def key_ring(settings: ServiceSettings, clock: Clock) -> KeyRing:
    """The service's key ring, as configured (KEYSTORE_*); MissingSecret without a master key.
    Always on a pool of its own: a command holding one of the service's connections asks for a key
    while it does, and on a shared pool enough such commands at once would wait for each other."""
    readers = frozenset(r.strip() for r in settings.keystore_readers.split(",") if r.strip())
    store = PostgresKeyStore(master_key=master_key(settings), service=settings.service, readers=readers,
                             schema=settings.keystore_schema)
    keys_db = Database(settings.keystore_database_url or settings.database_url or "", settings.keystore_pool_size,
                       f"servicetrail-{settings.service}-keys")
    return KeyRing(store, keys_db, clock, settings.service, settings.keystore_schema)
