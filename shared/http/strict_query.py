"""A query parameter the call does not take is refused, 422 naming it, not silently ignored.

`GET /v1/requests?stage=closed` looked like a filter and filtered nothing: a client could not
tell that it got every request. Installed on every route of a service's app (`create_app`).
"""
from __future__ import annotations

from typing import Any, Callable

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError

_taken: dict[int, frozenset[str]] = {}  # by route: the query parameters it declares
_ANY = "__takes_any_query__"


def takes_any_query(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a route whose query string is not the server's to judge (a page whose script reads it)."""
    setattr(endpoint, _ANY, True)
    return endpoint


async def no_unknown_query(request: Request) -> None:
    if not request.query_params:
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or getattr(getattr(route, "endpoint", None), _ANY, False):
        return
    names = _taken.get(id(route))
    if names is None:
        names = _taken[id(route)] = frozenset(_query_names(dependant))
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in names]
    if unknown:
        raise RequestValidationError([
            {"type": "extra_forbidden", "loc": ("query", name), "input": request.query_params[name],
             "msg": f"this call takes no query parameter {name!r}"
                    + (f"; it takes {', '.join(sorted(names))}" if names else "")}
            for name in unknown])


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters of a route and of every dependency it uses, by the name sent."""
    names, pending = set(), [dependant]
    while pending:
        current = pending.pop()
        names.update(p.alias for p in current.query_params)
        pending.extend(current.dependencies)
    return names
