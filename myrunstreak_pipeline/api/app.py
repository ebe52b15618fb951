"""The read-only query API (design.md §6) as one ASGI app: ``create_app(settings)``.

``myrunstreak serve`` runs it under uvicorn (``app_from_env`` is the factory its workers import), the Lambda
handler wraps it with Mangum. Every GET reads one whole version of the database through ``ApiDatabase`` and the
repository's read methods, answers with a weak ``ETag`` of (database version, the runner's today, the request
URL) and ``Cache-Control: no-cache``, and honours ``If-None-Match`` with 304. Errors are problem+json
(``problems.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from myrunstreak_pipeline.analytics.rule import StreakRule, get_streak_rule
from myrunstreak_pipeline.api import problems
from myrunstreak_pipeline.api.cache import AnswerCache, CachedAnswer
from myrunstreak_pipeline.api.database import ApiDatabase, DatabaseVersion, ReadableDatabase
from myrunstreak_pipeline.duckdb_ops.repository import RunRepository
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline.today import local_today

API_TITLE = "MyRunStreak query API"
API_VERSION = "1.0"
STATIC_DIR = Path(__file__).resolve().parent / "static"
CACHE_CONTROL = "no-cache"  # always revalidate: a 304 is cheap, and the answer is current


@dataclass
class ReadContext:
    """What a route's read function gets: the connection, the repository on it, the rule and the runner's
    today (``?today=`` when the route takes it), and the database version being read."""

    connection: duckdb.DuckDBPyConnection
    repository: RunRepository
    version: DatabaseVersion
    rule: StreakRule
    today: dt.date
    settings: Settings

    @property
    def min_km(self) -> float:
        """The rule that applies: set explicitly in the environment, else stored with the data (like the CLI)."""
        return self.settings.streak_min_km if self.settings.is_set("streak_min_km") else self.rule.min_km

    @property
    def mode(self) -> str:
        return self.settings.streak_mode if self.settings.is_set("streak_mode") else self.rule.mode


def runner_today(rule: StreakRule, settings: Settings) -> dt.date:
    """The runner's local date: the zone stored with the rule, else MYRUNSTREAK_TIMEZONE, else the machine's."""
    return local_today(rule.time_zone or settings.timezone)


def entity_tag(version: DatabaseVersion, today: dt.date, request: Request) -> str:
    """Weak ETag: the database version, plus a hash of the runner's today and the request URL (the same version
    answers differently per URL, and date-relative answers change at the runner's midnight)."""
    url = request.url.path + ("?" + request.url.query if request.url.query else "")
    digest = hashlib.sha256(f"{today.isoformat()}|{url}".encode()).hexdigest()[:16]
    return f'W/"{version.etag}.{digest}"'


def _matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    opaque = tag.removeprefix("W/")
    for candidate in (part.strip() for part in if_none_match.split(",")):
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


class NotModified(Exception):
    def __init__(self, tag: str):
        self.tag = tag


def answer(
    request: Request,
    build: Callable[[ReadContext], Any],
    *,
    today: dt.date | None = None,
    media_type: str | None = None,
    model: type[BaseModel] | None = None,
) -> Response:
    """Answer a GET from one whole database version: 304 when ``If-None-Match`` holds the ETag, the cached answer
    when this ETag was answered before (``cache.py``), else read, build (JSON-able data checked against ``model``,
    or ``media_type`` bytes/str), cache and answer. The ETag is computed before the body, so a revalidation
    costs at most the rule lookup, and nothing at all while the version is known without reading."""
    settings: Settings = request.app.state.settings
    database: ReadableDatabase = request.app.state.database
    cache: AnswerCache = request.app.state.cache
    if_none_match = request.headers.get("if-none-match")

    known = database.current_version() if hasattr(database, "current_version") else None
    rule = cache.rules.get(known.etag) if known is not None else None
    if known is not None and rule is not None:
        tag = entity_tag(known, today or runner_today(rule, settings), request)
        if _matches(if_none_match, tag):
            return _not_modified(tag)
        cached = cache.answers.get(tag)
        if cached is not None:
            return Response(cached.body, media_type=cached.media_type, headers=_headers(tag))

    def read(connection: duckdb.DuckDBPyConnection, version: DatabaseVersion):
        rule = get_streak_rule(connection)
        cache.rules.put(version.etag, rule)
        day = today or runner_today(rule, settings)
        tag = entity_tag(version, day, request)
        if _matches(if_none_match, tag):
            raise NotModified(tag)
        cached = cache.answers.get(tag)
        if cached is not None:
            return tag, cached
        context = ReadContext(connection, RunRepository(connection), version, rule, day, settings)
        return tag, _render(build(context), media_type, model)

    try:
        tag, rendered = database.read(read)
    except NotModified as not_modified:
        return _not_modified(not_modified.tag)
    cache.answers.put(tag, rendered)
    return Response(rendered.body, media_type=rendered.media_type, headers=_headers(tag))


def _render(body: Any, media_type: str | None, model: type[BaseModel] | None) -> CachedAnswer:
    if media_type is not None:
        return CachedAnswer(body.encode() if isinstance(body, str) else bytes(body), media_type)
    if model is not None:  # the documented shape, checked: a drift is a 500 here, not a silent contract break
        return CachedAnswer(model.model_validate(body).model_dump_json().encode(), "application/json")
    return CachedAnswer(JSONResponse(jsonable_encoder(body)).body, "application/json")


def _headers(tag: str) -> dict[str, str]:
    return {"ETag": tag, "Cache-Control": CACHE_CONTROL}


def _not_modified(tag: str) -> Response:
    return Response(status_code=304, headers=_headers(tag))


def create_app(settings: Settings, *, database: ReadableDatabase | None = None) -> FastAPI:
    """The API over ``database`` (default: ``settings.db`` opened read-only, S3 refreshed every
    ``settings.api_refresh_seconds``). CORS only for ``settings.cors_origins`` (empty: off)."""
    from myrunstreak_pipeline.api import routes

    if database is None:
        database = ApiDatabase(
            settings.db, s3_endpoint_url=settings.s3_endpoint_url, refresh_seconds=settings.api_refresh_seconds
        )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            database.close()

    app = FastAPI(
        lifespan=lifespan,
        title=API_TITLE,
        version=API_VERSION,
        description="Read-only answers about one runner's streak, runs and summaries (design.md §6).",
        responses={
            503: {"model": problems_schema(), "description": "the database is missing or cannot be read"},
        },
    )
    app.state.settings = settings
    app.state.database = database
    app.state.cache = AnswerCache()
    problems.install(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD"],
            allow_headers=["If-None-Match"],
            expose_headers=["ETag"],
        )
    app.include_router(routes.router)
    return app


def problems_schema():
    from myrunstreak_pipeline.api.schemas import Problem

    return Problem


def app_from_env() -> FastAPI:
    """The factory ``uvicorn --factory`` workers call: settings from the environment (``myrunstreak serve``
    puts its ``--db`` there)."""
    return create_app(Settings.from_env())
