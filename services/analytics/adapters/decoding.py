"""Archived rows back into the published contracts, by their full ce_type, fast enough to rebuild.

A fold reads every archived event again on each rebuild, so how a row becomes a typed event is most
of what typing costs. A row of its contract's current version (nearly all: the archiver keeps each
event as its current version) is validated by pydantic-core straight from the JSON text the
archive selects, with no dict in between: about twice what `orjson.loads` costs, where loading and
then validating would cost three times. A row of an older version (archived before a later version
came out) is loaded, upcast by its contract's upcasters and validated (`shared.contracts.decode`).
A row of an event no fact folds is not decoded at all.
"""
from __future__ import annotations

from typing import Callable, Collection

import orjson

from shared.contracts import REGISTRIES, decode
from shared.events import DomainEvent, UnknownEventType, parse_event_type

Decoder = Callable[[str], DomainEvent]  # JSON text -> the typed event; ValueError or LookupError if it cannot


class Decoders:
    """The decoder of each ce_type whose event is `wanted`, looked up once per type."""

    def __init__(self, wanted: Collection[type[DomainEvent]]) -> None:
        self.wanted = frozenset(wanted)
        self._by_type: dict[str, Decoder | None] = {}

    def get(self, ce_type: str) -> Decoder | None:
        """None for a type whose event is not wanted, or that names no published event: nothing
        could fold it. A wanted event of a version this code does not know gets a decoder that
        raises UnknownEventType, so the reader counts what it could not read."""
        try:
            return self._by_type[ce_type]
        except KeyError:
            decoder = self._by_type[ce_type] = self._decoder(ce_type)
            return decoder

    def _decoder(self, ce_type: str) -> Decoder | None:
        try:
            service, name, version = parse_event_type(ce_type)
        except (UnknownEventType, ValueError):
            return None
        registry = REGISTRIES.get(service)
        cls = registry.get(name) if registry is not None else None
        if cls not in self.wanted:
            return None
        if version == cls.version:
            # The validator itself: `model_validate_json` wraps it in ~1 us of Python per call.
            return cls.__pydantic_validator__.validate_json  # type: ignore[no-any-return]
        return lambda text: decode(ce_type, orjson.loads(text))
