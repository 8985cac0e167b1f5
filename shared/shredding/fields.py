"""Sealing an event's personal fields, and opening every token in any JSON value: pure.

A personal field that holds a structure (a dict of changes, a list) is sealed leaf by leaf: its
shape, and the names in it, stay readable, so a consumer still decodes the event into its typed
contract, and an erased leaf reads `[erased]` where it was. None is left as it is: there is
nothing to hide in an absent phone number.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping, MutableMapping

from shared.shredding.crypto import ERASED, PREFIX, SealError, is_sealed, open_token, owner_of, seal

UNREADABLE = "[unreadable]"  # a token that names a live key and does not open under it: altered


def seal_paths(data: dict[str, Any], paths: Iterable[str], customer_id: str, key: bytes) -> dict[str, Any]:
    """A copy of `data` with the value at each dotted path sealed under `key` for `customer_id`."""
    sealed = dict(data)
    for path in paths:
        *parents, leaf = path.split(".")
        node: Any = sealed
        for name in parents:  # copy the way down, so `data` is never changed
            child = node.get(name) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                node = None
                break
            node[name] = node = dict(child)
        if isinstance(node, dict) and node.get(leaf) is not None:
            node[leaf] = _seal_leaves(node[leaf], path, customer_id, key)
    return sealed


def _seal_leaves(value: Any, path: str, customer_id: str, key: bytes) -> Any:
    if value is None or value == ERASED or is_sealed(value):
        return value
    if isinstance(value, dict):
        return {k: _seal_leaves(v, f"{path}.{k}", customer_id, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_seal_leaves(v, f"{path}.{i}", customer_id, key) for i, v in enumerate(value)]
    return seal(key, customer_id, path, value)


def has_plain_values(data: Mapping[str, Any], paths: Iterable[str]) -> bool:
    """Whether any of `paths` holds a plain value, so sealing it needs the customer's key. A token
    (passed on from another event) and `[erased]` (what an erased customer's field reads) need none."""
    return any(leaf is not None and leaf != ERASED and not is_sealed(leaf)
               for path in paths for leaf in leaves(value_at(data, path)))


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path (None where the path leads nowhere)."""
    for name in path.split("."):
        data = data.get(name) if isinstance(data, dict) else None
    return data


def leaves(value: Any) -> list[Any]:
    """The scalars a JSON value holds, at any depth (itself, if it is one)."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def customers_in(value: Any) -> set[str]:
    """The customers whose tokens `value` holds (anywhere within it)."""
    found = {_owner(token)[0] for token in tokens_in(value)}
    found.discard("")
    return found


def tokens_in(value: Any) -> list[str]:
    """Every token `value` holds, anywhere within it."""
    found: list[str] = []
    _collect(value, found)
    return found


def open_all(value: Any, keys: Mapping[str, bytes | None],
             cache: MutableMapping[str, tuple[str, str, Any]] | None = None) -> tuple[Any, dict[str, set[str]]]:
    """`value` with every token in it opened with its customer's key from `keys`: `[erased]` where
    the key is gone (None or missing), `[unreadable]` where it does not open. Also, per customer,
    the field paths opened (what an access log records). `cache` (token -> customer, path, value)
    spares opening a token again; an entry is used only for a customer whose key `keys` holds."""
    opened: dict[str, set[str]] = defaultdict(set)

    def open_one(token: str) -> Any:
        known = cache.get(token) if cache is not None else None
        if known is not None:
            customer, path, plain = known
            if keys.get(customer) is None:
                return ERASED
        else:
            customer, path = _owner(token)
            if not customer:
                return UNREADABLE
            key = keys.get(customer)
            if key is None:
                return ERASED
            try:
                plain = open_token(key, token)
            except SealError:
                return UNREADABLE
            if cache is not None:
                cache[token] = (customer, path, plain)
        opened[customer].add(path)
        return plain

    return _walk(value, open_one), dict(opened)


def customer_of(token: str) -> str:
    """The customer a token names ("" for a malformed one, which no key opens)."""
    return _owner(token)[0]


def _owner(token: str) -> tuple[str, str]:
    try:
        return owner_of(token)
    except SealError:
        return "", ""  # a malformed token: no key opens it


# The walks test exact types first: read models and events are plain dicts, lists and strings, and
# a submit walks a customer's open requests (up to 50 rows) each time.
def _collect(value: Any, found: list[str]) -> None:
    kind = type(value)
    if kind is str:
        if value.startswith(PREFIX):
            found.append(value)
    elif kind is dict or isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    elif kind is list or kind is tuple or isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, found)


def _walk(value: Any, on_token: Any) -> Any:
    kind = type(value)
    if kind is str:
        return on_token(value) if value.startswith(PREFIX) else value
    if kind is dict or isinstance(value, dict):
        return {k: _walk(v, on_token) for k, v in value.items()}
    if kind is list or kind is tuple or isinstance(value, (list, tuple)):
        return [_walk(v, on_token) for v in value]
    if isinstance(value, str):  # a str subclass (an enum's value)
        return on_token(value) if value.startswith(PREFIX) else value
    return value
