"""The query API's handle on the database: read-only, current, and cheap to check.

``ApiDatabase.read(fn)`` calls ``fn(connection, version)`` on one whole version of the database; ``version`` is
what was read (its ``etag`` feeds the HTTP ETag), so an answer and its ETag always belong together.

- A local file is opened READ_ONLY for each read and closed after it: a long-lived reader would hold DuckDB's
  file lock and keep ``myrunstreak run`` from writing. The version is the file's (mtime, size, inode), taken
  while the file is open (a writer cannot change it meanwhile).
- An ``s3://`` object is attached read-only over httpfs by the storage layer's reader (pinned to one object
  version on a versioned bucket). The object is HEADed at most every ``refresh_seconds`` while the pinned
  version is current; it is re-attached only when the ETag changed. Unpinned (unversioned bucket) reads HEAD
  before and after every read, as the reader does, so a publish during a read is never a torn answer.

Every failure to open or read is a ``MyRunStreakError`` (the app answers 503) whose text never names the
server's path: ``public_message`` strips it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import duckdb

from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri
from myrunstreak_pipeline.duckdb_ops.s3.common import ObjectVersion, head_object
from myrunstreak_pipeline.duckdb_ops.s3.reader import LOCAL_HINT, ReadOnlyS3Database, connect_local_read_only
from myrunstreak_pipeline.errors import MyRunStreakError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class DatabaseVersion:
    """One version of the database: ``etag`` is opaque and changes whenever the content may have changed."""

    etag: str
    size_bytes: int | None = None


class ReadableDatabase(Protocol):
    """What the app needs of a database (tests and the Lambda handler may pass their own)."""

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection, DatabaseVersion], T]) -> T: ...

    def close(self) -> None: ...


class _CachedHeadReader(ReadOnlyS3Database):
    """The storage layer's S3 reader, HEADing at most every ``refresh_seconds`` while a pinned version is
    attached (a pinned attachment reads that version whatever is published meanwhile: no torn answer)."""

    def __init__(self, uri: str, s3_endpoint_url: str | None, refresh_seconds: float, **kwargs: Any):
        super().__init__(uri, s3_endpoint_url, **kwargs)
        self.refresh_seconds = refresh_seconds
        self._checked_at: float | None = None
        self.heads = 0  # HEAD requests made (tests and benchmarks read it)
        self.size_bytes: int | None = None  # of the object at the last HEAD

    def _head(self) -> ObjectVersion:
        now = time.monotonic()
        fresh = self._checked_at is not None and now - self._checked_at < self.refresh_seconds
        if fresh and self.pinned and self.version is not None:
            return self.version
        self.heads += 1
        head = head_object(self.s3, self.location, "reading", must_exist=True)
        self.size_bytes = head.get("ContentLength")
        self._checked_at = time.monotonic()
        return ObjectVersion.from_head(head)

    def fresh_version(self) -> ObjectVersion | None:
        """The attached version, when it is pinned and was HEADed less than ``refresh_seconds`` ago (a read now
        would read exactly it); else None."""
        fresh = self._checked_at is not None and time.monotonic() - self._checked_at < self.refresh_seconds
        return self.version if fresh and self.pinned else None

    def forget_check(self) -> None:
        """HEAD again on the next read (after a failure, the cached version may be what failed)."""
        self._checked_at = None


def _local_version(path: Path) -> DatabaseVersion:
    stat = path.stat()
    key = f"{stat.st_mtime_ns}:{stat.st_size}:{stat.st_ino}"
    return DatabaseVersion(etag=hashlib.sha256(key.encode()).hexdigest()[:20], size_bytes=stat.st_size)


class ApiDatabase:
    """The database the API reads: ``ApiDatabase(uri, s3_endpoint_url=…, refresh_seconds=…)``; thread-safe."""

    def __init__(self, uri: str, *, s3_endpoint_url: str | None = None, refresh_seconds: float = 5.0):
        self.uri = str(uri)
        self.is_s3 = is_s3_uri(self.uri)
        self.s3_endpoint_url = s3_endpoint_url
        self.refresh_seconds = float(refresh_seconds)
        self.path = None if self.is_s3 else Path(self.uri).expanduser()
        self._reader: _CachedHeadReader | None = None
        self._lock = threading.Lock()  # an S3 reader is not thread-safe

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection, DatabaseVersion], T]) -> T:
        if self.is_s3:
            return self._read_s3(fn)
        return self._read_local(fn)

    def _read_local(self, fn: Callable[[duckdb.DuckDBPyConnection, DatabaseVersion], T]) -> T:
        assert self.path is not None
        if not self.path.is_file():
            raise MyRunStreakError(f"database not found: {self.path}")
        connection = connect_local_read_only(self.path, str(self.path), LOCAL_HINT)
        try:
            try:
                version = _local_version(self.path)
            except OSError as error:
                raise MyRunStreakError(f"cannot read database {self.path}: {error.strerror}") from None
            return fn(connection, version)
        finally:
            connection.close()

    def current_version(self) -> DatabaseVersion | None:
        """The version a read would see now, when that is known without reading: a local file's ``stat``, or a
        pinned S3 version HEADed less than ``refresh_seconds`` ago. None otherwise (then read)."""
        if not self.is_s3:
            try:
                return _local_version(self.path)
            except OSError:
                return None
        with self._lock:
            version = self._reader.fresh_version() if self._reader is not None else None
            if version is None:
                return None
            return DatabaseVersion(version.etag.strip('"'), self._reader.size_bytes)

    def _new_reader(self) -> _CachedHeadReader:
        """The S3 reader, made on the first read (a subclass may return its own ``_CachedHeadReader``)."""
        return _CachedHeadReader(self.uri, self.s3_endpoint_url, self.refresh_seconds)

    def _read_s3(self, fn: Callable[[duckdb.DuckDBPyConnection, DatabaseVersion], T]) -> T:
        with self._lock:
            if self._reader is None:
                self._reader = self._new_reader()
            reader = self._reader

            def with_version(connection: duckdb.DuckDBPyConnection) -> T:
                assert reader.version is not None
                return fn(connection, DatabaseVersion(reader.version.etag.strip('"'), reader.size_bytes))

            try:
                return reader.read(with_version)
            except (MyRunStreakError, duckdb.Error, OSError):
                reader.forget_check()  # a failed read HEADs again next time (not an answer such as 304 or 404)
                raise

    @property
    def heads(self) -> int:
        """HEAD requests made on the S3 object so far (0 for a local file); for tests and benchmarks."""
        return self._reader.heads if self._reader is not None else 0

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def public_message(self, error: BaseException) -> str:
        """``error``'s first line without the server's path or bucket (never shown to a client)."""
        text = (str(error).splitlines() or [type(error).__name__])[0]
        for secret in filter(None, (self.uri, str(self.path) if self.path else None)):
            text = text.replace(secret, "the database")
        if self.path is not None:
            text = text.replace(str(self.path.resolve()), "the database")
        home = os.path.expanduser("~")
        if len(home) > 1:
            text = text.replace(home, "~")
        return text
