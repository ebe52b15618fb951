"""Errors as ``application/problem+json`` (RFC 9457): ``{"type", "title", "status", "detail"}`` (+ ``errors`` on
422). No stack trace, no server path, no secret ever reaches a client: unexpected errors are logged and
answered with a fixed 500."""

from __future__ import annotations

import logging
from typing import Any

import duckdb
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from myrunstreak_pipeline.errors import MyRunStreakError

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiProblem(Exception):
    """Raised by a route: answered as a problem document with ``status``."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors


def bad_parameter(param: str, msg: str) -> ApiProblem:
    return ApiProblem(422, f"invalid parameter {param!r}: {msg}", [{"param": param, "msg": msg}])


def problem_response(status: int, detail: str, *, errors: list[dict[str, str]] | None = None, **extra: Any):
    body: dict[str, Any] = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    headers = {"Cache-Control": "no-store"}
    headers.update(extra.get("headers") or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _param_name(location: tuple) -> str:
    parts = [str(part) for part in location if part not in ("query", "path", "header", "body")]
    return ".".join(parts) or "request"


def database_problem(app: FastAPI, error: BaseException) -> JSONResponse:
    """503 for a database that is missing or cannot be read (the message names no server path)."""
    database = app.state.database
    public = getattr(database, "public_message", None)
    text = public(error) if public else "the database cannot be read"
    if isinstance(error, duckdb.CatalogException):
        text = "the database has no analytics views (not created or migrated by this version)"
    log.warning("database unavailable: %s", error)
    return problem_response(503, f"database unavailable: {text}", headers={"Retry-After": "5"})


def install(app: FastAPI) -> None:
    """Register the problem+json exception handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"param": _param_name(tuple(item.get("loc", ()))), "msg": item.get("msg", "")} for item in error.errors()
        ]
        names = ", ".join(dict.fromkeys(item["param"] for item in errors))
        return problem_response(422, f"invalid parameter: {names}", errors=errors)

    @app.exception_handler(ApiProblem)
    async def _problem(request: Request, error: ApiProblem) -> JSONResponse:
        return problem_response(error.status, error.detail, errors=error.errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail if isinstance(error.detail, str) else TITLES.get(error.status_code, "Error")
        if error.status_code == 404 and detail == "Not Found":
            detail = "no such resource; see /openapi.json for the API"
        return problem_response(error.status_code, detail, headers=dict(error.headers or {}))

    @app.exception_handler(MyRunStreakError)
    async def _unavailable(request: Request, error: MyRunStreakError) -> JSONResponse:
        return database_problem(request.app, error)

    @app.exception_handler(duckdb.Error)
    async def _duckdb(request: Request, error: duckdb.Error) -> JSONResponse:
        return database_problem(request.app, error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s", request.url.path)
        return problem_response(500, "the server failed to answer this request")
