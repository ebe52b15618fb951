"""Read-only access to the database, local or ``s3://`` (attached over httpfs, never downloaded whole).

httpfs comes from the pinned ``duckdb-extension-httpfs`` wheel and is loaded from disk; credentials go into a
temporary, bucket-scoped DuckDB secret as bound parameters, so they never appear in SQL text or errors.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb

from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri, parse_s3_uri
from myrunstreak_pipeline.duckdb_ops.manager import load_httpfs
from myrunstreak_pipeline.duckdb_ops.s3.common import (
    RESTORE_HINT,
    S3Credentials,
    head_object,
    make_s3_client,
    resolve_endpoint_url,
)
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql

log = logging.getLogger(__name__)


def connect_local_read_only(path: Path, what: str) -> duckdb.DuckDBPyConnection:
    """Open a local file read-only; failing that, a clear error (the real test of "is this a DuckDB file")."""
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise MyRunStreakError(f"{what} is not a readable DuckDB database: {first_line}", RESTORE_HINT) from None


def _sql_string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _duckdb_endpoint(endpoint_url: str | None) -> tuple[str, str, bool]:
    """(ENDPOINT, URL_STYLE, USE_SSL) of DuckDB's S3 secret for an endpoint URL (None: AWS itself)."""
    if not endpoint_url:
        return "s3.amazonaws.com", "vhost", True
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise MyRunStreakError(
            f"MYRUNSTREAK_S3_ENDPOINT_URL must look like http(s)://host[:port], got {endpoint_url!r}"
        )
    return parts.netloc, "path", parts.scheme == "https"


class ReadOnlyS3Database:
    """An in-memory DuckDB with the S3 database attached read-only as ``db`` (and ``USE db``).

    httpfs caches what it read and errors once the object's ETag changes, so ``connection()`` HEADs the
    object and re-attaches when a new version was published. Call ``connection()`` per query or per run.
    """

    def __init__(
        self,
        uri: str,
        s3_endpoint_url: str | None = None,
        *,
        s3_client: Any = None,
        credentials: S3Credentials | None = None,
    ):
        self.location = parse_s3_uri(uri)
        self.endpoint_url = resolve_endpoint_url(s3_endpoint_url)
        self.s3 = s3_client or make_s3_client(self.endpoint_url)
        self._credentials = credentials  # resolved from the AWS chain on first use when not given
        self._connection: duckdb.DuckDBPyConnection | None = None
        self.etag: str | None = None  # of the version currently attached

    def __repr__(self) -> str:
        return f"ReadOnlyS3Database({self.location}, etag={self.etag!r})"

    def connection(self) -> duckdb.DuckDBPyConnection:
        etag = head_object(self.s3, self.location, "reading", must_exist=True)["ETag"]
        if self._connection is None:
            self._connection = self._new_connection()
            self._attach()
        elif etag != self.etag:
            log.info("%s changed (etag %s -> %s); re-attaching", self.location, self.etag, etag)
            self._connection.execute("USE memory")
            self._connection.execute("DETACH db")
            self._attach()
        self.etag = etag
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> ReadOnlyS3Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _new_connection(self) -> duckdb.DuckDBPyConnection:
        credentials = self._credentials = self._credentials or S3Credentials.from_boto3()
        endpoint, url_style, use_ssl = _duckdb_endpoint(self.endpoint_url)
        connection = duckdb.connect(config={"autoinstall_known_extensions": False})  # offline: never download
        try:
            load_httpfs(connection)
            connection.execute(
                load_sql("queries/s3/create_secret.sql"),
                {
                    "key_id": credentials.key_id,
                    "secret": credentials.secret,
                    "session_token": credentials.session_token or "",
                    "region": credentials.region,
                    "endpoint": endpoint,
                    "url_style": url_style,
                    "use_ssl": use_ssl,
                    "scope": self.location.bucket_uri,
                },
            )
        except duckdb.Error as error:
            connection.close()
            raise MyRunStreakError(f"cannot set up S3 access in DuckDB: {credentials.redact(str(error))}") from None
        except BaseException:
            connection.close()
            raise
        return connection

    def _attach(self) -> None:
        assert self._connection is not None and self._credentials is not None
        # ATTACH takes no bound parameters; the URI (never a credential) goes in as an escaped literal.
        statement = load_sql("queries/s3/attach_read_only.sql").format(
            database_literal=_sql_string_literal(self.location.uri)
        )
        try:
            self._connection.execute(statement)
        except duckdb.Error as error:
            self.close()
            detail = self._credentials.redact(str(error)).splitlines()[0]
            if "not a valid DuckDB database" in detail:
                raise MyRunStreakError(f"{self.location} is not a readable DuckDB database", RESTORE_HINT) from None
            raise MyRunStreakError(f"cannot attach {self.location} read-only: {detail}") from None


def open_read_only(database: str | Path, s3_endpoint_url: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection to a local path or an ``s3://`` URI (its tables usable unqualified)."""
    if is_s3_uri(database):
        return ReadOnlyS3Database(str(database), s3_endpoint_url).connection()
    path = Path(database).expanduser()
    if not path.is_file():
        raise MyRunStreakError(
            f"no database at {path}",
            "Run the pipeline once to create it (myrunstreak run), or set MYRUNSTREAK_DB / --db.",
        )
    return connect_local_read_only(path, str(path))
