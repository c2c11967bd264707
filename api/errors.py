"""Every error the API returns has one JSON shape, {"code", "message", "field"}.

ExportErrors from the core map to HTTP statuses by code (STATUS), else by class
(BY_CLASS), else 400. FastAPI's request validation errors, Starlette's own 404/405 and
unexpected exceptions are rewritten into the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.models import Error
from exporter.errors import ExportError, InvalidSpec, LimitExceeded, SourceError
from exporter.store import Conflict, NotFound

log = logging.getLogger("api")

# code -> HTTP status; codes not listed fall back to their class (BY_CLASS), then 400.
STATUS: dict[str, int] = {
    "UNAUTHENTICATED": 401,
    "NOT_FOUND": 404,
    "LINK_INVALID": 404,  # tampered or foreign: say nothing about what exists
    "STORAGE_BAD_KEY": 404,
    "LINK_EXPIRED": 410,
    "STORAGE_NOT_FOUND": 410,  # the file was cleaned up
    "FILE_NOT_READY": 409,
    "TEMPLATE_NAME_TAKEN": 409,
    "JOB_NOT_CANCELLABLE": 409,
    "JOB_NOT_RETRYABLE": 409,
    "JOB_NOT_RUNNING": 409,
    "JOB_STATE_CHANGED": 409,
    "RANGE_NOT_SATISFIABLE": 416,
    "SOURCE_UNAVAILABLE": 503,
    "SERVICE_UNAVAILABLE": 503,
    "STORAGE_CONFIG": 500,
}
BY_CLASS: tuple[tuple[type[ExportError], int], ...] = (
    (InvalidSpec, 422), (LimitExceeded, 422), (NotFound, 404), (Conflict, 409),
    (SourceError, 503),
)
VALIDATION = "INVALID_REQUEST"
DESCRIPTIONS = {
    401: "No API token, or a wrong or revoked one (WWW-Authenticate: Bearer)",
    404: "Not found (another org's objects are not found either)",
    409: "Conflicts with the current state (e.g. TEMPLATE_NAME_TAKEN, JOB_NOT_CANCELLABLE)",
    410: "The download expired (LINK_EXPIRED) or its file is gone",
    416: "The Range cannot be satisfied (Content-Range: bytes */size)",
    422: "Invalid request or export spec (INVALID_REQUEST or the rule's code)",
}


def status_of(exc: ExportError) -> int:
    if exc.code in STATUS:
        return STATUS[exc.code]
    return next((status for cls, status in BY_CLASS if isinstance(exc, cls)), 400)


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    body = Error(code=code, message=message, field=field).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: the Error model under each status it may return."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {"model": Error, "description": DESCRIPTIONS[status]}
        if status == 401:
            out[status]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return out


def _field(loc: tuple[Any, ...]) -> str | None:
    """("body", "fields", 0) -> "fields[0]"; ("query", "limit") -> "limit"."""
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


async def _export_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ExportError)
    return error_response(status_of(exc), exc.code, exc.message, exc.field)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "Invalid request"}
    message = str(first.get("msg", "Invalid request")).removeprefix("Value error, ")
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return error_response(422, VALIDATION, message, _field(tuple(first.get("loc", ()))))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI's "error parsing the body": undecodable bytes
        return error_response(422, VALIDATION, f"{exc.detail} (send UTF-8 JSON)", "body")
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code,
                                                            f"HTTP_{exc.status_code}")
    return error_response(exc.status_code, code, str(exc.detail), None,
                          dict(exc.headers) if exc.headers else None)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ExportError, _export_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
