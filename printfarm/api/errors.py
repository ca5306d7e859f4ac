"""The one mapping from printfarm errors to HTTP statuses and the error body."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from printfarm import errors

log = logging.getLogger(__name__)

#: Most specific first; the first class an error is an instance of decides.
STATUS_BY_ERROR: tuple[tuple[type[errors.PrintfarmError], int], ...] = (
    (errors.InputError, 422),
    (errors.NotFound, 404),
    (errors.TooManyBadTokens, 429),
    (errors.AuthError, 401),
    (errors.Forbidden, 403),
    (errors.Conflict, 409),
    (errors.PrinterError, 502),
    (errors.SlicerError, 502),
    (errors.BrokerError, 503),
    (errors.ConfigError, 500),
)


def status_for(error: errors.PrintfarmError) -> int:
    for error_class, status in STATUS_BY_ERROR:
        if isinstance(error, error_class):
            return status
    return 500


def _body(name: str, detail: object) -> dict[str, object]:
    return {"error": name, "detail": detail}


class ValidationProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error response: the error class and what was wrong, naming the object and the value."""

    error: str = Field(description="The error class, e.g. NotFound, Forbidden, ValidationError")
    detail: str | list[ValidationProblem] = Field(description="A message, or one entry per invalid field")


#: Documented on every API route, so the OpenAPI schema describes what a client can really get.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "The request could not be read (e.g. a broken multipart body)"),
        (401, "No valid token: missing, unknown, revoked or expired"),
        (403, "The token's role or site may not do this"),
        (404, "An id names nothing"),
        (409, "The request clashes with the current state"),
        (422, "The input is invalid; nothing was changed"),
        (429, "Too many requests with bad tokens from this address; retry after Retry-After seconds"),
        (502, "A printer or the slicer failed"),
        (503, "The MQTT broker is unavailable"),
    )
}
# Refused by the framework's body limit while the body streams in, before any route runs: plain text.
ERROR_RESPONSES[413] = {
    "description": "The request body is larger than the largest upload allowed",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}


#: The page a browser gets for a 404 outside the API: (request, what was not found) -> an HTML response.
NotFoundPage = Callable[[Request, str], Response]


def wants_page(request: Request) -> bool:
    """A browser asking for a page: HTML accepted, and not a path of the API (which always answers JSON)."""
    path = request.url.path
    is_api = path == "/api" or path.startswith("/api/")
    return not is_api and "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI, *, not_found_page: NotFoundPage | None = None) -> None:
    """One error shape for every route; with not_found_page, a browser's 404 outside /api is a page."""

    def page_for(request: Request, status: int, detail: str) -> Response | None:
        if status == 404 and not_found_page is not None and wants_page(request):
            return not_found_page(request, detail)
        return None

    @app.exception_handler(errors.PrintfarmError)
    async def _printfarm_error(request: Request, exc: errors.PrintfarmError) -> Response:
        status = status_for(exc)
        page = page_for(request, status, str(exc))
        if page is not None:
            return page
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, errors.TooManyBadTokens):
            headers = {"Retry-After": str(int(exc.retry_after_seconds))}
        return JSONResponse(_body(type(exc).__name__, str(exc)), status_code=status, headers=headers)

    # The framework's own refusals (a broken multipart body, an unknown route) keep the one error shape.
    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        page = page_for(request, exc.status_code, f"There is no page at {request.url.path}.")
        if page is not None:
            return page
        try:
            name = HTTPStatus(exc.status_code).phrase.replace(" ", "").replace("-", "")
        except ValueError:
            name = f"HTTP{exc.status_code}"
        return JSONResponse(_body(name, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        return JSONResponse(_body("ValidationError", problems), status_code=422)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("%s %s hit a constraint: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(_body("Conflict", "the request clashes with a concurrent change; retry"), status_code=409)

    # A number or text the database cannot hold (PostgreSQL: integer out of range, value too long;
    # SQLite: an integer beyond 64 bits) is the caller's input, and the transaction was rolled back.
    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        log.info("%s %s: a value the database cannot hold: %s", request.method, request.url.path, exc.orig)
        return JSONResponse(_body("InputError", "a value is out of range for its field"), status_code=422)

    @app.exception_handler(OverflowError)
    async def _overflow_error(request: Request, exc: OverflowError) -> JSONResponse:
        log.info("%s %s: a number too large: %s", request.method, request.url.path, exc)
        return JSONResponse(_body("InputError", f"a number is too large ({exc})"), status_code=422)
