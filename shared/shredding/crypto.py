"""Sealing one personal field value under its customer's data key: AES-256-GCM, pure.

A token is `enc:v1:<customer>.<path>.<sealed>`, each part urlsafe base64 without padding: the
customer id and field path it was sealed for, then nonce (12 bytes) || ciphertext || tag (16 bytes);
the plaintext is the value's JSON (orjson). The associated data is `customer_id NUL path`, so the
header is authenticated: altering it, or copying the body under another customer or path, makes
the token not open. A token names whose key opens it, so a read model or an answer may hold tokens
copied from events, and whoever shows them opens each with `open_token`, not knowing where it
came from. Neither a customer id nor a field path is personal data. Nonces are random: with 96 bits, a key may seal ~2^32 values before a
repeat becomes a real risk (NIST SP 800-38D), far beyond what one customer's history holds.
"""
from __future__ import annotations

import base64
import binascii
import os
import threading
from functools import lru_cache
from typing import Any, Sequence

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:v1:"
ERASED = "[erased]"  # what views show in place of a field whose customer was erased
KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16


class _Nonces:
    """Random nonces, drawn from the OS 256 at a time: one getrandom call per value sealed cost a
    submit more than its encryption (a system call is also where a busy process is descheduled).
    Each is handed out once, under a lock; a forked child drops what its parent drew, so no two
    processes ever hand out the same one."""

    _BATCH = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drop()

    def take(self, count: int) -> bytes:
        """`count` nonces, one after the other, taken under one acquisition of the lock (an event
        seals several values)."""
        size = _NONCE_BYTES * count
        with self._lock:
            if self._at + size > len(self._pool):
                self._pool, self._at = os.urandom(_NONCE_BYTES * max(self._BATCH, count)), 0
            self._at += size
            return self._pool[self._at - size:self._at]

    def _drop(self) -> None:
        self._pool, self._at = b"", 0


_nonces = _Nonces()
os.register_at_fork(after_in_child=_nonces._drop)


class SealError(ValueError):
    """A value could not be opened."""


class NotSealed(SealError):
    """The value is not a sealed token at all (plain text, None, another format)."""


class Tampered(SealError):
    """The token does not open: altered, malformed, or opened under another key, customer or path."""


def seal(key: bytes, customer_id: str, path: str, value: Any) -> str:
    """`value` (anything orjson encodes) as a token that only `unseal` with the same key, customer and
    field path opens. Each call takes a fresh nonce, so equal values give unequal tokens."""
    return seal_all(key, customer_id, [(path, value)])[0]


def seal_all(key: bytes, customer_id: str, values: Sequence[tuple[str, Any]]) -> list[str]:
    """`seal` of each (path, value), all under one customer's key: what an event's personal fields
    need, their shared parts (cipher, customer, nonces) looked up once for them all."""
    encrypt, customer, nonces = _cipher(key).encrypt, _part(customer_id), _nonces.take(len(values))
    tokens = []
    for at, (path, value) in zip(range(0, len(nonces), _NONCE_BYTES), values, strict=True):
        header, associated = _sealed_as(customer, _part(path))
        nonce = nonces[at:at + _NONCE_BYTES]
        tokens.append(header + _b64(nonce + encrypt(nonce, orjson.dumps(value, option=orjson.OPT_UTC_Z), associated)))
    return tokens


def owner_of(token: Any) -> tuple[str, str]:
    """The customer id and field path `token` names (not yet proven: only opening it proves them).
    Raises NotSealed if `token` is no token, Tampered if its header is malformed."""
    if not is_sealed(token):
        raise NotSealed("value: not a sealed value")
    try:
        return _named(token.rpartition(".")[0])
    except (binascii.Error, ValueError):
        raise Tampered("value: the sealed value is malformed") from None


def open_token(key: bytes, token: Any) -> Any:
    """`unseal` under the customer and path the token names (its header is checked by the tag)."""
    customer, path, raw = _parts(token)
    return _open(key, customer, path, raw)


def unseal(key: bytes, customer_id: str, path: str, token: Any) -> Any:
    """The JSON value `token` was sealed from. Raises NotSealed if `token` is no token, Tampered if it
    does not open under this key, customer and path (or was altered)."""
    named_customer, named_path, raw = _parts(token, path)
    if (named_customer, named_path) != (customer_id, path):
        raise Tampered(f"{path}: the sealed value was sealed for another customer or field")
    return _open(key, customer_id, path, raw)


def _open(key: bytes, customer_id: str, path: str, raw: bytes) -> Any:
    if len(raw) < _NONCE_BYTES + _TAG_BYTES:
        raise Tampered(f"{path}: the sealed value is too short")
    try:
        plain = _cipher(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _sealed_as(_part(customer_id), _part(path))[1])
    except InvalidTag:
        raise Tampered(f"{path}: the sealed value does not open under this key, customer and path") from None
    return orjson.loads(plain)


def is_sealed(value: Any) -> bool:
    """Whether `value` has the form of a token; not whether it opens (only `unseal` tells that)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def _parts(token: Any, where: str = "value") -> tuple[str, str, bytes]:
    if not is_sealed(token):
        raise NotSealed(f"{where}: not a sealed value")
    head, _, body = token.rpartition(".")
    try:
        customer, path = _named(head)
        # As base64.urlsafe_b64decode, padded, in one call: this runs for every value opened.
        return customer, path, binascii.a2b_base64(body.encode("ascii").translate(_FROM_URLSAFE) + b"==")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise Tampered(f"{where}: the sealed value is malformed") from None


# A token's header is made, and read, from its two parts, each decoded or encoded once and kept:
# the customers a desk serves in turn are many (a cache of whole headers, one per customer and
# path, would make each anew every time), the field paths are few.
def _named(head: str) -> tuple[str, str]:
    customer, dot, path = head[len(PREFIX):].partition(".")
    if not dot or "." in path:
        raise ValueError("not a customer and a path")
    return _decoded(customer), _decoded(path)


def _sealed_as(customer: tuple[str, bytes], field: tuple[str, bytes]) -> tuple[str, bytes]:
    """The header a token sealed for this customer and field path (each as `_part` gives it) begins
    with, and its associated data."""
    # NUL separates the two in the associated data (`_part` refuses it inside either).
    return f"{PREFIX}{customer[0]}.{field[0]}.", customer[1] + b"\x00" + field[1]


@lru_cache(maxsize=16_384)
def _decoded(part: str) -> str:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


@lru_cache(maxsize=16_384)
def _part(text: str) -> tuple[str, bytes]:
    # With NUL allowed inside either, ("a", "\0b") and ("a\0", "b") would have equal associated data.
    if "\x00" in text:
        raise ValueError("a customer id or field path may not contain NUL")
    raw = text.encode()
    return _b64(raw), raw


_URLSAFE, _FROM_URLSAFE = bytes.maketrans(b"+/", b"-_"), bytes.maketrans(b"-_", b"+/")


def _b64(raw: bytes) -> str:
    # base64.urlsafe_b64encode, without its two Python calls: this runs for every value sealed.
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).rstrip(b"=").decode("ascii")


# A cipher object costs more to make than one value to seal or open. Each is about 100 bytes: the
# cache holds the keys of the customers a busy desk serves in turn (with fewer places than those,
# a desk that takes them in turn would make each anew every time).
@lru_cache(maxsize=16_384)
def _cipher(key: bytes) -> AESGCM:
    # AESGCM also takes 16- and 24-byte keys: a truncated key must fail loudly, not weaken silently.
    if len(key) != KEY_BYTES:
        raise ValueError(f"a data key must be {KEY_BYTES} bytes (AES-256), got {len(key)}")
    return AESGCM(key)
