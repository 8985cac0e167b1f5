"""Domain-level failures; pure, so domain code raises them and the HTTP edge maps them."""
from __future__ import annotations


class DomainError(Exception):
    """A command the domain refuses."""


class NotFound(DomainError):
    pass


class Forbidden(DomainError):
    """The caller may not send this command at all (HTTP 403), whatever the state."""


class InvalidTransition(DomainError):
    """Not allowed in the current state (HTTP 409)."""


class Invalid(DomainError):
    """Well-formed but unacceptable input, naming the field (HTTP 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class EventTooLarge(DomainError):
    """An event larger than the relay can publish, refused before it is recorded (HTTP 413).

    Bounds on the input keep events small; this is the last line of defence, since one event the
    relay cannot send stops everything recorded after it. `field` names the heaviest part of it.
    """

    def __init__(self, event_type: str, field: str, size: int, limit: int) -> None:
        self.field, self.size, self.limit = field, size, limit
        self.message = (f"too large to record: event {event_type} would be {size:,} bytes, "
                        f"over the {limit:,}-byte limit")
        super().__init__(f"{field}: {self.message}")
