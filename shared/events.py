"""Typed, frozen domain events, their registry, schema versions, upcasters and personal-data marks.

Pure: imports pydantic only, so every service's domain layer may use it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, ClassVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class Personal:
    """Marks a field as the customer's personal data (crypto-shredded per customer)."""


PERSONAL = Personal()


class DomainEvent(BaseModel):
    """A fact. Subclasses set `subject_field` to the attribute naming the request or resource."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: ClassVar[int] = 1
    subject_field: ClassVar[str] = "request_id"

    @property
    def subject(self) -> str:
        return str(getattr(self, self.subject_field))

    @classmethod
    def event_name(cls) -> str:
        return cls.__name__

    @classmethod
    def personal_fields(cls) -> list[str]:
        return _personal_paths(cls, "")


def _personal_paths(model: type[BaseModel], prefix: str) -> list[str]:
    paths: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        if any(isinstance(m, Personal) for m in info.metadata):
            paths.append(path)
        for nested in _models_in(info.annotation):
            paths.extend(_personal_paths(nested, f"{path}."))
    return paths


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) is not None:
        return [m for arg in get_args(annotation) for m in _models_in(arg)]
    return []


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    pass


class EventRegistry:
    """Maps `servicetrail.<service>.<Name>.v<N>` to event classes and upgrades old payloads."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._classes: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, cls: type[DomainEvent]) -> type[DomainEvent]:
        self._classes[cls.event_name()] = cls
        return cls

    def upcaster(self, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(name, from_version)] = fn
            return fn

        return decorate

    def type_of(self, event: DomainEvent) -> str:
        return self.type_of_class(type(event))

    def type_of_class(self, cls: type[DomainEvent]) -> str:
        """The full ce_type this code emits for `cls` (its current version)."""
        return event_type(self.service, cls.event_name(), cls.version)

    def get(self, name: str) -> type[DomainEvent] | None:
        return self._classes.get(name)

    def classes(self) -> list[type[DomainEvent]]:
        return list(self._classes.values())

    def decode(self, ce_type: str, data: dict[str, Any]) -> DomainEvent:
        service, name, version = parse_event_type(ce_type)
        cls = self._classes.get(name)
        if service != self.service or cls is None:
            raise UnknownEventType(ce_type)
        while version < cls.version:
            data = self._upcasters[(name, version)](dict(data))
            version += 1
        return cls.model_validate(data)


def event_type(service: str, name: str, version: int) -> str:
    return f"servicetrail.{service}.{name}.v{version}"


# Every envelope's `name` and `service` parse its type, and a stream of events holds a few dozen
# types: each is parsed once (a malformed one raises every time; the cache stays bounded).
@lru_cache(maxsize=1024)
def parse_event_type(ce_type: str) -> tuple[str, str, int]:
    parts = ce_type.split(".")
    if len(parts) != 4 or parts[0] != "servicetrail" or not parts[3].startswith("v"):
        raise UnknownEventType(ce_type)
    return parts[1], parts[2], int(parts[3][1:])
