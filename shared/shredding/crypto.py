"""Sealing one personal field value under its customer's data key: AES-256-GCM, pure.

A token is `enc:v1:` + urlsafe base64 (no padding) of nonce (12 bytes) || ciphertext || tag (16 bytes);
the plaintext is the value's JSON (orjson). The associated data is `customer_id NUL path`: a token
copied into another field or another customer's event does not open, so a sealed value cannot be
passed off as a different one. Nonces are random: with 96 bits, a key may seal ~2^32 values before a
repeat becomes a real risk (NIST SP 800-38D), far beyond what one customer's history holds.
"""
from __future__ import annotations

import base64
import binascii
import os
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:v1:"
ERASED = "[erased]"  # what views show in place of a field whose customer was erased
KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16


class SealError(ValueError):
    """A value could not be opened."""


class NotSealed(SealError):
    """The value is not a sealed token at all (plain text, None, another format)."""


class Tampered(SealError):
    """The token does not open: altered, malformed, or opened under another key, customer or path."""


def seal(key: bytes, customer_id: str, path: str, value: Any) -> str:
    """`value` (anything orjson encodes) as a token that only `unseal` with the same key, customer and
    field path opens. Each call takes a fresh nonce, so equal values give unequal tokens."""
    nonce = os.urandom(_NONCE_BYTES)
    body = _cipher(key).encrypt(nonce, orjson.dumps(value), _associated(customer_id, path))
    return PREFIX + base64.urlsafe_b64encode(nonce + body).rstrip(b"=").decode("ascii")


def unseal(key: bytes, customer_id: str, path: str, token: Any) -> Any:
    """The JSON value `token` was sealed from. Raises NotSealed if `token` is no token, Tampered if it
    does not open under this key, customer and path (or was altered)."""
    if not is_sealed(token):
        raise NotSealed(f"{path}: not a sealed value")
    text = token[len(PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Tampered(f"{path}: the sealed value is not valid base64") from None
    if len(raw) < _NONCE_BYTES + _TAG_BYTES:
        raise Tampered(f"{path}: the sealed value is too short")
    try:
        plain = _cipher(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _associated(customer_id, path))
    except InvalidTag:
        raise Tampered(f"{path}: the sealed value does not open under this key, customer and path") from None
    return orjson.loads(plain)


def is_sealed(value: Any) -> bool:
    """Whether `value` has the form of a token; not whether it opens (only `unseal` tells that)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def _cipher(key: bytes) -> AESGCM:
    # AESGCM also takes 16- and 24-byte keys: a truncated key must fail loudly, not weaken silently.
    if len(key) != KEY_BYTES:
        raise ValueError(f"a data key must be {KEY_BYTES} bytes (AES-256), got {len(key)}")
    return AESGCM(key)


def _associated(customer_id: str, path: str) -> bytes:
    # NUL separates the two; allowed inside either, ("a", "\0b") and ("a\0", "b") would collide.
    if "\x00" in customer_id or "\x00" in path:
        raise ValueError("a customer id or field path may not contain NUL")
    return f"{customer_id}\x00{path}".encode()
