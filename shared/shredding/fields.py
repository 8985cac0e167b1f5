"""Sealing an event's personal fields, and opening every token in any JSON value: pure.

A personal field that holds a structure (a dict of changes, a list) is sealed leaf by leaf: its
shape, and the names in it, stay readable, so a consumer still decodes the event into its typed
contract, and an erased leaf reads `[erased]` where it was. None is left as it is: there is
nothing to hide in an absent phone number.
"""
from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import Any, Callable, Iterable, Mapping, MutableMapping, NamedTuple

from shared.shredding.crypto import ERASED, PREFIX, SealError, open_token, owner_of, seal_all

UNREADABLE = "[unreadable]"  # a token that names a live key and does not open under it: altered


def seal_paths(data: dict[str, Any], paths: Iterable[str], customer_id: str, key: bytes,
               keep: frozenset[str] = frozenset(),
               opened: MutableMapping[str, tuple[str, str, Any]] | None = None) -> dict[str, Any]:
    """A copy of `data` with the value at each dotted path sealed under `key` for `customer_id`.
    Each value sealed here at a path in `keep` goes into `opened` too, by its new token."""
    return unsealed(data, paths).sealed(customer_id, key, keep, opened)


class Unsealed(NamedTuple):
    """A copy of an event's data whose personal paths' plain values are still to be sealed, and
    where each is: found in one walk, which also tells whether sealing needs a key at all."""

    data: dict[str, Any]
    # (the copied dict or list holding it, its name or index there, its field path, the value)
    places: list[tuple[Any, Any, str, Any]]

    def sealed(self, customer_id: str, key: bytes, keep: frozenset[str] = frozenset(),
               opened: MutableMapping[str, tuple[str, str, Any]] | None = None) -> dict[str, Any]:
        """The data with every plain value sealed (each value at a path in `keep` into `opened`)."""
        tokens = seal_all(key, customer_id, [(path, value) for _, _, path, value in self.places])
        for (holder, name, path, value), token in zip(self.places, tokens, strict=True):
            holder[name] = token
            if opened is not None and path in keep:
                opened[token] = (customer_id, path, value)
        return self.data


def unsealed(data: dict[str, Any], paths: Iterable[str]) -> Unsealed:
    """`data` copied where a value at `paths` is to be sealed (`data` itself is never changed), with
    those values' places. A token (passed on from another event), `[erased]` (what an erased
    customer's field reads) and None stay as they are: they need no key."""
    copy: dict[str, Any] = dict(data)
    places: list[tuple[Any, Any, str, Any]] = []
    _find(copy, _tree(tuple(paths)), "", places)
    return Unsealed(copy, places)


# The paths of an event class, as a tree of names ({"customer": {"name": None}, "title": None}):
# built once per class, so finding its values walks each level once and copies each dict once.
@lru_cache(maxsize=1024)
def _tree(paths: tuple[str, ...]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths, key=lambda p: p.count(".")):  # a whole field wins over a part of it
        *parents, leaf = path.split(".")
        node: dict[str, Any] | None = tree
        for name in parents:
            node = node.setdefault(name, {}) if node.get(name, {}) is not None else None
            if node is None:
                break
        if node is not None:
            node[leaf] = None
    return tree


def _find(copy: dict[str, Any], tree: dict[str, Any], prefix: str, places: list[tuple[Any, Any, str, Any]]) -> None:
    for name, below in tree.items():
        value = copy.get(name)
        if value is None:
            continue
        if below is None:
            _find_leaves(copy, name, value, prefix + name, places)
        elif isinstance(value, dict):
            copy[name] = inner = dict(value)
            _find(inner, below, f"{prefix}{name}.", places)


def _find_leaves(holder: Any, name: Any, value: Any, path: str, places: list[tuple[Any, Any, str, Any]]) -> None:
    """A personal field's plain values: the field itself, or each leaf of a structure it holds (its
    shape, and the names in it, stay readable)."""
    if isinstance(value, str):
        if value != ERASED and not value.startswith(PREFIX):
            places.append((holder, name, path, value))
    elif isinstance(value, dict):
        holder[name] = inner = dict(value)
        for key, item in value.items():
            _find_leaves(inner, key, item, f"{path}.{key}", places)
    elif isinstance(value, list):
        holder[name] = inner = list(value)
        for index, item in enumerate(value):
            _find_leaves(inner, index, item, f"{path}.{index}", places)
    elif value is not None:
        places.append((holder, name, path, value))


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path (None where the path leads nowhere)."""
    for name in path.split("."):
        data = data.get(name) if isinstance(data, dict) else None
    return data


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
    opened: dict[str, set[str]] = {}
    return _walk(value, _opener(keys, cache, opened)), opened


def open_tokens(values: Iterable[Any], keys: Mapping[str, bytes | None],
                cache: MutableMapping[str, tuple[str, str, Any]] | None = None) -> dict[Any, Any]:
    """`open_all` for a flat collection: each of `values` mapped to what it opens to (a value that
    is no token, to itself). For a caller that knows the shape of what it holds, and rebuilds it
    faster than a walk does (a submit compares a customer's open requests, up to 50 of them)."""
    open_one, cached = _opener(keys, cache, None), cache.get if cache is not None else {}.get
    values = list(values)
    # Most often each was opened before (intake keeps what it seals opened): then the whole map is
    # made by loops in C, after one check that each customer named still has a live key.
    known_all = list(map(cached, values))
    if None not in known_all and all(keys.get(c) is not None for c in set(map(_CUSTOMER, known_all))):
        return dict(zip(values, map(_VALUE, known_all), strict=True))
    plain: dict[Any, Any] = {}
    for value in values:  # what was opened before is taken here, not in a call of its own
        known = cached(value)
        if known is not None and keys.get(known[0]) is not None:
            plain[value] = known[2]
        else:
            plain[value] = open_one(value) if type(value) is str and value.startswith(PREFIX) else value
    return plain


_CUSTOMER, _VALUE = itemgetter(0), itemgetter(2)  # of a cached (customer, path, value)


def _opener(keys: Mapping[str, bytes | None], cache: MutableMapping[str, tuple[str, str, Any]] | None,
            opened: dict[str, set[str]] | None) -> Callable[[str], Any]:
    cached = cache.get if cache is not None else {}.get

    def open_one(token: str) -> Any:
        known = cached(token)
        if known is None:
            known = _opened_with(keys, token)
            if type(known) is str:  # ERASED or UNREADABLE
                return known
            if cache is not None:
                cache[token] = known
        elif keys.get(known[0]) is None:
            return ERASED
        if opened is not None:
            opened.setdefault(known[0], set()).add(known[1])
        return known[2]

    return open_one


def _opened_with(keys: Mapping[str, bytes | None], token: str) -> tuple[str, str, Any] | str:
    """(customer, path, value) the token opens to, or what to show in its place."""
    customer, path = _owner(token)
    key = keys.get(customer) if customer else None
    if key is None:
        return ERASED if customer else UNREADABLE
    try:
        return customer, path, open_token(key, token)
    except SealError:
        return UNREADABLE


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
