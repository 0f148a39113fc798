"""Every error leaves as the contract's body `{"message", "status", "request_id"}`; 422s also list
the fields, and an unexpected failure is a JSON 500 whose request id is in its log line.

Services raise domain errors (`domain.errors`); this is the one place they become HTTP statuses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from domain.errors import Conflict, FieldProblem, NotFound, Unavailable, ValidationFailed
from domain.snapshots import DuplicateDependent
from runtime import logs
from store.db import DATABASE_ERRORS, PoolTimeout, database_unreachable

log = logging.getLogger("carrierlink.api")

_log = logging.getLogger(__name__)

# How long a caller waits before trying again after a 503: the workflow service and the
# database usually come back within seconds (a restart, a leader change, a failover).
RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    """A refusal of the HTTP layer itself (credentials, an unreadable body) with its status."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def _body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    # The id of the request being served (api.access), so a caller can quote it to an operator.
    request_id = logs.request_id.get()
    return {"message": message, "status": status, **extra} | (
        {"request_id": request_id} if request_id else {}
    )


def _problems_response(problems: list[FieldProblem]) -> JSONResponse:
    return JSONResponse(
        status_code=422,
        content=_body(
            422,
            "; ".join(str(p) for p in problems),
            errors=[{"field": p.field, "message": p.reason} for p in problems],
        ),
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    # Drop the request part ("body", "query", "path") and pydantic's union-branch tags.
    parts = [str(p) for p in loc[1:] if not (isinstance(p, str) and "[" in p)]
    return ".".join(parts) or str(loc[0])


def _unavailable(message: str) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content=_body(503, message),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status, content=_body(exc.status, exc.message, **exc.extra)
        )

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(status_code=404, content=_body(404, exc.message))

    @app.exception_handler(Conflict)
    async def _conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(status_code=409, content=_body(409, exc.message, **exc.extra))

    @app.exception_handler(DuplicateDependent)
    async def _duplicate_dependent(_: Request, exc: DuplicateDependent) -> JSONResponse:
        return JSONResponse(status_code=400, content=_body(400, str(exc)))

    @app.exception_handler(Unavailable)
    async def _service_unavailable(_: Request, exc: Unavailable) -> JSONResponse:
        return _unavailable(exc.message)

    @app.exception_handler(RPCError)
    async def _workflow_service_unavailable(_: Request, exc: RPCError) -> JSONResponse:
        # Any call to Temporal may fail this way; one answer for all of them.
        return _unavailable(f"the workflow service is unavailable: {exc.message}")

    async def _database_error(request: Request, exc: Exception) -> JSONResponse:
        # Answered here rather than left to the server's last-resort handler, which would log
        # the exception's text (the driver adds the failing row, people included) and close
        # the keep-alive connection. Only the type and SQLSTATE are logged.
        sqlstate = getattr(getattr(exc, "orig", exc), "sqlstate", None)
        if isinstance(exc, PoolTimeout):
            # Every pool connection stayed taken for the pool's timeout: a burst, not an
            # outage. The client is told to come back, as for an outage, in its own words.
            _log.warning(
                "%s %s: no database connection came free in time", request.method, request.url.path
            )
            return _unavailable("the database is busy: try again later")
        if database_unreachable(exc):
            _log.warning(
                "%s %s: the database is unreachable (%s, SQLSTATE %s)",
                request.method,
                request.url.path,
                type(exc).__name__,
                sqlstate,
            )
            return _unavailable("the database is unavailable")
        _log.error(
            "%s %s: a database statement failed (%s, SQLSTATE %s)",
            request.method,
            request.url.path,
            type(exc).__name__,
            sqlstate,
        )
        return JSONResponse(status_code=500, content=_body(500, "internal error"))

    for error_type in DATABASE_ERRORS:
        app.add_exception_handler(error_type, _database_error)

    @app.exception_handler(ValidationFailed)
    async def _validation_failed(_: Request, exc: ValidationFailed) -> JSONResponse:
        return _problems_response(exc.problems)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            FieldProblem(_field_path(tuple(err["loc"])), err["msg"]) for err in exc.errors()
        ]
        return _problems_response(problems)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Runs outside api.access (Starlette's outermost layer), so the id comes from the request.
        request_id = getattr(request.state, "request_id", None)
        token = logs.request_id.set(request_id)
        try:
            log.error(
                "unhandled %s on %s %s",
                type(exc).__name__,
                request.method,
                request.url.path,
                exc_info=exc,
            )
            return JSONResponse(
                status_code=500,
                content=_body(500, "internal error; quote the request_id to an operator"),
                headers={"X-Request-ID": request_id} if request_id else None,
            )
        finally:
            logs.request_id.reset(token)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content=_body(exc.status_code, str(exc.detail)),
            headers=exc.headers,
        )
