"""Sealing an event's personal fields, and opening every token in any JSON value: pure.

A personal field that holds a structure (a dict of changes, a list) is sealed leaf by leaf: its
shape, and the names in it, stay readable, so a consumer still decodes the event into its typed
contract, and an erased leaf reads `[erased]` where it was. None is left as it is: there is
nothing to hide in an absent phone number.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping

from shared.shredding.crypto import ERASED, SealError, is_sealed, open_token, owner_of, seal

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
    if value is None or is_sealed(value):
        return value
    if isinstance(value, dict):
        return {k: _seal_leaves(v, f"{path}.{k}", customer_id, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_seal_leaves(v, f"{path}.{i}", customer_id, key) for i, v in enumerate(value)]
    return seal(key, customer_id, path, value)


def has_personal_values(data: Mapping[str, Any], paths: Iterable[str]) -> bool:
    """Whether any of `paths` holds a value (so sealing it needs the customer's key)."""
    for path in paths:
        node: Any = data
        for name in path.split("."):
            node = node.get(name) if isinstance(node, dict) else None
        if node is not None:
            return True
    return False


def customers_in(value: Any) -> set[str]:
    """The customers whose tokens `value` holds (anywhere within it)."""
    found: set[str] = set()
    _walk(value, lambda token: found.add(_owner(token)[0]) or token)
    found.discard("")
    return found


def open_all(value: Any, keys: Mapping[str, bytes | None]) -> tuple[Any, dict[str, set[str]]]:
    """`value` with every token in it opened with its customer's key from `keys`: `[erased]` where
    the key is gone (None or missing), `[unreadable]` where it does not open. Also, per customer,
    the field paths opened (what an access log records)."""
    opened: dict[str, set[str]] = defaultdict(set)

    def open_one(token: str) -> Any:
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
        opened[customer].add(path)
        return plain

    return _walk(value, open_one), dict(opened)


def _owner(token: str) -> tuple[str, str]:
    try:
        return owner_of(token)
    except SealError:
        return "", ""  # a malformed token: no key opens it


def _walk(value: Any, on_token: Any) -> Any:
    if isinstance(value, str):
        return on_token(value) if is_sealed(value) else value
    if isinstance(value, dict):
        return {k: _walk(v, on_token) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v, on_token) for v in value]
    return value
