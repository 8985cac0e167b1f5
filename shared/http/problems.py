"""RFC 9457 problem details for every error, naming the offending field where there is one.

An unreachable database is the service's own passing trouble, not the request's fault nor a bug:
it is answered 503 with Retry-After (never 500), wherever it is raised (routes or fast lane)."""
from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from shared.db import is_unavailable
from shared.errors import EventTooLarge, Forbidden, Invalid, InvalidTransition, NotFound
from shared.eventstore import ConcurrencyError

PROBLEM_JSON = "application/problem+json"
TOO_LARGE = "Content Too Large"  # the detail of a body refused for its size (shared.http.guards.BodyLimit)
_UNPARSABLE = "There was an error parsing the body"  # fastapi.routing's detail for an undecodable body
RETRY_AFTER_SECONDS = 2  # when the app carries no settings saying otherwise
# Every exception type an unreachable database shows up as derives from one of these (is_unavailable
# then decides); they are handled inside the app, unlike `Exception`, which Starlette answers
# outermost and then raises again to the server.
_UNAVAILABLE_ROOTS = (OSError, SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError)
log = structlog.get_logger(__name__)


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field(loc: tuple[Any, ...]) -> str:
    if len(loc) == 2 and loc[0] == "body" and isinstance(loc[1], int):
        return "body"  # a JSON decode error: FastAPI puts the character position there, not a field
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid request", detail, errors=errors)


def http_problem(exc: HTTPException) -> JSONResponse:
    titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 410: "Gone",
              413: "Content too large", 429: "Too many requests"}
    extra = {}
    if exc.status_code == 413 and exc.detail == TOO_LARGE:
        extra = {"errors": [{"field": "body", "message": "larger than this service accepts (HTTP_MAX_BODY_BYTES)"}]}
    if exc.status_code == 400 and exc.detail == _UNPARSABLE:
        # FastAPI's answer to a body it cannot decode at all (not UTF-8): invalid input like any
        # other, so the documented 422 naming the body, as for a JSON syntax error.
        return problem(422, "Invalid request", "body: not valid UTF-8 JSON",
                       errors=[{"field": "body", "message": "not valid UTF-8 JSON"}])
    response = problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), **extra)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _http(request: Request, exc: HTTPException) -> JSONResponse:
    response = http_problem(exc)
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed(request)
    return response


def _allowed(request: Request) -> str:
    """Every method some route serves at this path: Starlette's 405 names only the first route
    whose path matched (e.g. POST for /v1/requests, which GET serves too), and RFC 9110 asks for
    all of them."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def problem_for(exc: Exception, retry_after: int = RETRY_AFTER_SECONDS) -> JSONResponse | None:
    """The answer for a refused command (HTTP refusals and the domain's) or an unreachable
    database; None for anything else."""
    if isinstance(exc, HTTPException):
        return http_problem(exc)
    answer = domain_problem(exc)
    if answer is None and is_unavailable(exc):
        answer = unavailable_problem(exc, retry_after)
    return answer


def unavailable_problem(exc: BaseException, retry_after: int = RETRY_AFTER_SECONDS) -> JSONResponse:
    log.warning("database unavailable", error=repr(exc))
    response = problem(503, "Service unavailable", "the database cannot be reached; try again shortly")
    response.headers["Retry-After"] = str(retry_after)
    return response


def retry_after_of(app: Any) -> int:
    """The app's configured Retry-After for a 503 (its runtime's settings), else the default."""
    settings = getattr(getattr(getattr(app, "state", None), "runtime", None), "settings", None)
    return int(getattr(settings, "unavailable_retry_after_seconds", RETRY_AFTER_SECONDS))


def domain_problem(exc: Exception) -> JSONResponse | None:
    """The problem answer for a refused command (invalid, unknown, conflicting); None for others."""
    if isinstance(exc, Invalid):
        return problem(422, "Invalid request", str(exc), errors=[{"field": exc.field, "message": exc.message}])
    if isinstance(exc, EventTooLarge):
        return problem(413, "Content too large", str(exc), errors=[{"field": exc.field, "message": exc.message}])
    if isinstance(exc, NotFound):
        return problem(404, "Not found", str(exc))
    if isinstance(exc, Forbidden):
        return problem(403, "Forbidden", str(exc))
    if isinstance(exc, (InvalidTransition, ConcurrencyError)):
        return problem(409, "Conflict", str(exc))
    return None


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    answer = domain_problem(exc)
    assert answer is not None  # registered for the domain's exception types only
    return answer


async def _maybe_unavailable(request: Request, exc: Exception) -> JSONResponse:
    if not is_unavailable(exc):
        raise exc  # a real failure: on to `_unexpected`, as if this handler were not here
    return unavailable_problem(exc, retry_after_of(request.app))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_unavailable(exc):  # wrapped in a type none of _UNAVAILABLE_ROOTS covers
        return unavailable_problem(exc, retry_after_of(request.app))
    log.exception("unhandled error", error=repr(exc))
    return problem(500, "Internal error", "the server failed to handle this request")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    for domain_error in (Invalid, NotFound, Forbidden, InvalidTransition, ConcurrencyError, EventTooLarge):
        app.add_exception_handler(domain_error, _domain)
    for root in _UNAVAILABLE_ROOTS:
        app.add_exception_handler(root, _maybe_unavailable)
    app.add_exception_handler(Exception, _unexpected)
