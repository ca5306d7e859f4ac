"""The one mapping from printfarm errors to HTTP statuses and the error body."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from printfarm import errors

log = logging.getLogger(__name__)

#: Most specific first; the first class an error is an instance of decides.
STATUS_BY_ERROR: tuple[tuple[type[errors.PrintfarmError], int], ...] = (
    (errors.InputError, 422),
    (errors.NotFound, 404),
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.PrintfarmError)
    async def _printfarm_error(request: Request, exc: errors.PrintfarmError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(_body(type(exc).__name__, str(exc)), status_code=status, headers=headers)

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
