"""What a customer's tokens opened to the last time a command compared them (`KeyRing.open_own`)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

Opener = Callable[[list[Any]], list[Any]]  # values -> what each opens to, in order


class RecentlyOpened:
    """Per customer, the values a command last opened together and what they opened to, for the
    customers seen most recently (`limit` of them).

    A submit compares the new request with the customer's open requests, newest first: the next
    submit of that customer opens the same list with a new request in front. Found again in the
    last list by equality (in C), the known part costs no look-up per token (a look-up of each in
    the process's `OpenedValues`, a large dictionary of long keys, was the largest share of what
    sealing cost a submit: 27 us of about 550). A token holds one value for good, so a value equal
    to one opened before opens alike. The caller uses this only once it found the customer's key
    live in the same command, and drops the customer on erasure (`forget`)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._last: OrderedDict[str, tuple[list[Any], list[Any]]] = OrderedDict()

    def opened(self, customer_id: str, values: list[Any], open_values: Opener) -> list[Any]:
        """What each of `values` opens to: the part equal to the customer's last list taken from
        it, the rest opened by `open_values`."""
        last = self._last.pop(customer_id, None)  # put back last: the least recently seen go first
        plain = _reusing(values, last, open_values) if last is not None else None
        if plain is None:
            plain = open_values(values)
        self._last[customer_id] = (values, plain)
        if len(self._last) > self.limit:
            self._last.popitem(last=False)
        return plain

    def forget(self, customer_id: str) -> None:
        self._last.pop(customer_id, None)


def _reusing(values: list[Any], last: tuple[list[Any], list[Any]], open_values: Opener) -> list[Any] | None:
    """`values` opened where they repeat, in one run, the start of the last list (what is new before
    and after that run opened anew); None if they do not (a request closed or edited: open all)."""
    last_values, last_plain = last
    if not last_values:
        return None
    try:
        start = values.index(last_values[0])
    except ValueError:
        return None
    run = min(len(values) - start, len(last_values))
    if values[start:start + run] != last_values[:run]:
        return None
    before, after = values[:start], values[start + run:]
    return ((open_values(before) if before else []) + last_plain[:run]
            + (open_values(after) if after else []))
