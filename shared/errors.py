"""Domain-level failures; pure, so domain code raises them and the HTTP edge maps them."""
from __future__ import annotations


class DomainError(Exception):
    """A command the domain refuses."""


class NotFound(DomainError):
    pass


class InvalidTransition(DomainError):
    """Not allowed in the current state (HTTP 409)."""


class Invalid(DomainError):
    """Well-formed but unacceptable input, naming the field (HTTP 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message
