"""Every error leaves as the contract's body `{"message", "status"}`; 422s also list the fields."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import FieldProblem, ValidationFailed


class ApiError(Exception):
    """An expected refusal with its HTTP status; `extra` keys join the body (e.g. `existing_id`)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def _body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, "status": status, **extra}


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status, content=_body(exc.status, exc.message, **exc.extra)
        )

    @app.exception_handler(ValidationFailed)
    async def _validation_failed(_: Request, exc: ValidationFailed) -> JSONResponse:
        return _problems_response(exc.problems)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            FieldProblem(_field_path(tuple(err["loc"])), err["msg"]) for err in exc.errors()
        ]
        return _problems_response(problems)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content=_body(exc.status_code, str(exc.detail)),
            headers=exc.headers,
        )
