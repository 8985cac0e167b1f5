"""RFC 9457 problem details for every error, naming the offending field where there is one."""
from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shared.errors import Invalid, InvalidTransition, NotFound
from shared.eventstore import ConcurrencyError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, "Invalid request", detail, errors=errors)


def http_problem(exc: HTTPException) -> JSONResponse:
    titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 410: "Gone"}
    response = problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _http(_: Request, exc: HTTPException) -> JSONResponse:
    return http_problem(exc)


def problem_for(exc: Exception) -> JSONResponse | None:
    """The answer for a refused command (HTTP refusals and the domain's); None for anything else."""
    return http_problem(exc) if isinstance(exc, HTTPException) else domain_problem(exc)


def domain_problem(exc: Exception) -> JSONResponse | None:
    """The problem answer for a refused command (invalid, unknown, conflicting); None for others."""
    if isinstance(exc, Invalid):
        return problem(422, "Invalid request", str(exc), errors=[{"field": exc.field, "message": exc.message}])
    if isinstance(exc, NotFound):
        return problem(404, "Not found", str(exc))
    if isinstance(exc, (InvalidTransition, ConcurrencyError)):
        return problem(409, "Conflict", str(exc))
    return None


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    answer = domain_problem(exc)
    assert answer is not None  # registered for the domain's exception types only
    return answer


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", error=repr(exc))
    return problem(500, "Internal error", "the server failed to handle this request")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    for domain_error in (Invalid, NotFound, InvalidTransition, ConcurrencyError):
        app.add_exception_handler(domain_error, _domain)
    app.add_exception_handler(Exception, _unexpected)
