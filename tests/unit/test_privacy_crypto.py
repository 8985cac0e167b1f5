"""Field sealing (AES-256-GCM): what is sealed opens only under its key, customer and field path."""
from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.shredding import crypto
from shared.shredding.crypto import (
    ERASED,
    NotSealed,
    SealError,
    Tampered,
    is_sealed,
    open_token,
    owner_of,
    seal,
    unseal,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))

# Values as JSON gives them back: orjson keeps integers to 64 bits and finite floats only.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(value=json_values, customer=st.text(min_size=1).filter(lambda s: "\x00" not in s))
def test_what_is_sealed_opens_to_the_same_value(value, customer):
    token = seal(KEY, customer, "contact.name", value)
    assert is_sealed(token)
    assert unseal(KEY, customer, "contact.name", token) == value


@pytest.mark.parametrize("value", ["Ada Lovelace", "", None, 0, 42, {"street": "1 Rue", "zip": "75001"}, ["a", 1, None]])
def test_each_kind_of_value_round_trips(value):
    assert unseal(KEY, "cust-1", "contact.name", seal(KEY, "cust-1", "contact.name", value)) == value


@pytest.mark.parametrize("key, customer, path", [
    (KEY, "cust-1", "contact.phone"),  # moved to another field
    (KEY, "cust-2", "contact.name"),  # moved to another customer
    (OTHER_KEY, "cust-1", "contact.name"),  # another customer's key (or a key made after erasure)
])
def test_a_token_opens_only_where_it_was_sealed(key, customer, path):
    token = seal(KEY, "cust-1", "contact.name", "Ada")
    with pytest.raises(Tampered):
        unseal(key, customer, path, token)


def test_the_customer_and_path_cannot_be_shifted_into_each_other():
    # ("a", "b.c") and ("a\x00b", ".c") would give the same associated data: NUL is refused.
    with pytest.raises(ValueError):
        seal(KEY, "a\x00b", ".c", "x")
    with pytest.raises(ValueError):
        seal(KEY, "a", "\x00b.c", "x")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_any_flipped_byte_is_detected():
    token = seal(KEY, "cust-1", "contact.name", "Ada Lovelace")
    customer, path, body = token.removeprefix("enc:v1:").split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=="))
    for i in range(len(raw)):
        flipped = bytearray(raw)
        flipped[i] ^= 0x01
        forged = f"enc:v1:{customer}.{path}.{_b64(bytes(flipped))}"
        with pytest.raises(Tampered):
            unseal(KEY, "cust-1", "contact.name", forged)
        with pytest.raises(Tampered):
            open_token(KEY, forged)


def test_a_token_names_its_customer_and_field_and_opens_by_them():
    token = seal(KEY, "cust-1", "customer.email", "ada@example.com")
    assert owner_of(token) == ("cust-1", "customer.email")
    assert open_token(KEY, token) == "ada@example.com"


@pytest.mark.parametrize("customer, path", [("cust-2", "customer.email"), ("cust-1", "customer.name")])
def test_a_token_whose_header_was_rewritten_does_not_open(customer, path):
    # Copying the body under another customer's or field's header is caught by the tag: the
    # header is the associated data.
    body = seal(KEY, "cust-1", "customer.email", "ada@example.com").split(".")[-1]
    forged = f"enc:v1:{_b64(customer.encode())}.{_b64(path.encode())}.{body}"
    assert owner_of(forged) == (customer, path)
    with pytest.raises(Tampered):
        open_token(KEY, forged)


@pytest.mark.parametrize("token", ["enc:v1:", "enc:v1:abc", "enc:v1:!!!not base64!!!", "enc:v1:" + "A" * 30,
                                   "enc:v1:a.b", "enc:v1:a.b.c.d", "enc:v1:Y3VzdA.cGF0aA.!!!",
                                   "enc:v1:Y3VzdA.cGF0aA." + "A" * 30, "enc:v1:_w.cGF0aA." + "A" * 60])
def test_a_malformed_token_is_tampered(token):
    with pytest.raises(Tampered):
        unseal(KEY, "cust-1", "contact.name", token)


@pytest.mark.parametrize("value", ["Ada", None, 3, ERASED, "enc:v2:abc", b"enc:v1:abc"])
def test_a_value_that_is_no_token_is_not_sealed(value):
    assert not is_sealed(value)
    with pytest.raises(NotSealed):
        unseal(KEY, "cust-1", "contact.name", value)


def test_both_errors_are_seal_errors():
    assert issubclass(Tampered, SealError) and issubclass(NotSealed, SealError)


def test_each_seal_takes_a_fresh_nonce():
    tokens = {seal(KEY, "cust-1", "contact.name", "Ada") for _ in range(50)}
    assert len(tokens) == 50


def test_the_plaintext_is_not_in_the_token():
    token = seal(KEY, "cust-1", "contact.name", "Ada Lovelace")
    body = token.split(".")[-1]
    assert "Ada" not in token and b"Ada" not in base64.urlsafe_b64decode(body + "==")


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(24), bytes(33)])
def test_only_256_bit_keys_are_taken(key):
    with pytest.raises(ValueError, match="32 bytes"):
        seal(key, "cust-1", "contact.name", "Ada")


def test_erased_placeholder():
    assert ERASED == "[erased]" and not is_sealed(ERASED)


def test_nonces_are_never_handed_out_twice_even_across_a_fork():
    # Nonces are drawn from the OS in bulk: a forked child must not hand out what its parent will.
    # Taken several at once (an event's fields), across the ends of the bulk drawn, none repeats.
    drawn = [crypto._nonces.take(count) for _ in range(300) for count in (1, 6, 7)]
    assert [len(d) for d in drawn] == [12, 72, 84] * 300
    seen = {d[at:at + 12] for d in drawn for at in range(0, len(d), 12)}
    assert len(seen) == 300 * 14
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, crypto._nonces.take(1))
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 64) != crypto._nonces.take(1)
