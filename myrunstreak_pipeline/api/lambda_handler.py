"""AWS Lambda entry point of the query API: ``myrunstreak_pipeline.api.lambda_handler.handler``.

Mangum translates API Gateway events into ASGI requests for the FastAPI app (``api.app.create_app``): HTTP API
(payload format 2.0) and REST API (1.0) events alike; responses go back as the matching payload. Everything
costly happens once per Lambda instance, at import (the init phase), and is reused while the instance is warm:
the settings (read once), the app, and the database handle. The handle keeps one in-memory DuckDB connection
with the S3 object attached read-only over httpfs (pinned to one object version on a versioned bucket); it
HEADs the object at most every ``MYRUNSTREAK_API_REFRESH_SECONDS`` and re-attaches only when a new version was
published.

Lambda's file system is read-only except ``/tmp``, and ``HOME`` may be unset: DuckDB would then put its
secrets and extensions directory relative to the working directory (``/var/task``). So before any connection
is opened, ``HOME`` is pointed under the temporary directory when it is unset or not writable, and the
reader's DuckDB spills to a temporary directory there as well (``SET temp_directory``). httpfs is loaded from
the pinned ``duckdb-extension-httpfs`` package, never downloaded.

A bad setting (or anything else that keeps the app from being built) must not fail the init: Lambda would
retry it on every request, a crash loop with no answer. Instead every request gets ``503
application/problem+json`` whose ``detail`` is the one-line reason (settings errors name the variable and never
echo a secret), and the reason is logged once with its hint.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from myrunstreak_pipeline.api.database import ApiDatabase, _CachedHeadReader
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

SCRATCH = Path(tempfile.gettempdir()) / "myrunstreak"  # /tmp/myrunstreak on Lambda
# Mangum base64-encodes any body whose type is not listed as text; REST APIs would then hand clients base64
# unless binary media types are configured. problem+json and the calendar SVG are text.
TEXT_MIME_TYPES = [*DEFAULT_TEXT_MIME_TYPES, "+json", "+xml"]
MISCONFIGURED_RETRY_AFTER = "60"


def _writable_dir(path: str) -> bool:
    return bool(path) and path != "~" and os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def prepare_scratch(scratch: Path = SCRATCH) -> Path:
    """Create ``scratch`` (DuckDB's spill directory inside it) and make sure ``HOME`` is a writable directory,
    under ``scratch`` when it was unset or read-only: DuckDB derives its secrets and extensions directories from
    ``HOME`` when a connection opens. Returns DuckDB's temp directory."""
    temp_directory = scratch / "duckdb-tmp"
    temp_directory.mkdir(parents=True, exist_ok=True)
    # HOME is process plumbing for DuckDB, not a myrunstreak setting: checked and set here, before any connect.
    if "HOME" not in os.environ or not _writable_dir(os.path.expanduser("~")):
        home = scratch / "home"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["HOME"] = str(home)
    return temp_directory


class LambdaReader(_CachedHeadReader):
    """The API's S3 reader with DuckDB's temp directory under ``/tmp``; counts its attachments (a warm instance
    attaches once per published version)."""

    def __init__(self, *args: Any, temp_directory: Path, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.temp_directory = temp_directory
        self.attaches = 0

    def _new_connection(self) -> Any:
        connection = super()._new_connection()
        try:
            connection.execute(
                load_sql("queries/lambda/temp_directory.sql"), {"temp_directory": str(self.temp_directory)}
            )
        except BaseException:
            connection.close()
            raise
        return connection

    def _attach_url(self, url: str, version: Any, *, pinned: bool) -> None:
        super()._attach_url(url, version, pinned=pinned)
        self.attaches += 1


class LambdaDatabase(ApiDatabase):
    """``ApiDatabase`` whose S3 reader is a ``LambdaReader`` (local paths behave as in ``ApiDatabase``)."""

    def __init__(self, uri: str, *, temp_directory: Path, **kwargs: Any):
        super().__init__(uri, **kwargs)
        self.temp_directory = temp_directory

    @property
    def reader(self) -> LambdaReader | None:
        """The S3 reader of this instance (None before the first S3 read, or for a local file)."""
        return self._reader if isinstance(self._reader, LambdaReader) else None

    def _new_reader(self) -> LambdaReader:
        return LambdaReader(self.uri, self.s3_endpoint_url, self.refresh_seconds, temp_directory=self.temp_directory)


def misconfigured_app(detail: str) -> ASGIApp:
    """An ASGI app answering every HTTP request with 503 problem+json saying why the API cannot start (no
    dependency on the real app: it must work whatever failed)."""
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": f"the API is misconfigured: {detail}",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"retry-after", MISCONFIGURED_RETRY_AFTER.encode()),
    ]

    async def app(scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})

    return app


def _one_line(error: BaseException) -> str:
    text = (str(error).strip().splitlines() or [""])[0].strip()
    return text or type(error).__name__


def build_app(scratch: Path = SCRATCH) -> tuple[ASGIApp, LambdaDatabase | None]:
    """The app and its database handle, from the environment (read once); on any failure the 503 app."""
    try:
        temp_directory = prepare_scratch(scratch)
        from myrunstreak_pipeline.api.app import create_app
        from myrunstreak_pipeline.settings import Settings

        settings = Settings.from_env()
        database = LambdaDatabase(
            settings.db,
            temp_directory=temp_directory,
            s3_endpoint_url=settings.s3_endpoint_url,
            refresh_seconds=settings.api_refresh_seconds,
        )
        return create_app(settings, database=database), database
    except Exception as error:  # a bad setting, a broken package: answer 503, never fail the init
        detail = _one_line(error)
        hint = error.hint if isinstance(error, MyRunStreakError) and error.hint else None
        log.error("the query API cannot start: %s%s", detail, f" (hint: {hint})" if hint else "")
        return misconfigured_app(detail), None


def create_handler(scratch: Path = SCRATCH) -> tuple[Mangum, LambdaDatabase | None]:
    """A Mangum handler over a freshly built app (REST and HTTP API events; lifespan off: nothing to start)."""
    app, database = build_app(scratch)
    return Mangum(app, lifespan="off", text_mime_types=TEXT_MIME_TYPES), database


_started = time.perf_counter()
handler, database = create_handler()
INIT_SECONDS = time.perf_counter() - _started
log.info("query API initialised in %.0f ms", INIT_SECONDS * 1000)
