"""Read-only access to the database, local or ``s3://``: every read sees one whole published version.

An ``s3://`` database is attached read-only over httpfs, which fetches the byte ranges a query needs, never the
whole file. Writers replace the object while readers read it, and ranges of two versions make corrupt pages
(seen as ``UnicodeDecodeError``s and wrong answers before this module pinned its reads). So a reader HEADs the
object first and then either:

- **pins the version** (versioned bucket): it attaches a presigned ``GetObject`` URL for that ``VersionId``
  (SigV4, ``PRESIGN_SECONDS`` valid, re-signed after half of that). Every range request of that URL returns
  bytes of that version, whatever is published meanwhile. httpfs cannot pin an ``s3://`` URL itself
  (``s3://b/k?versionId=…`` is read as a different key), but reads presigned https URLs with range requests;
  a HEAD on a GET-signed URL is refused by S3 and httpfs then falls back to a ranged GET. Reading a version
  needs ``s3:GetObjectVersion``; without it the reader falls back to the next mode (and logs why);
- or **detects a change** (unversioned bucket, versioning suspended, no ``s3:GetObjectVersion``): it attaches
  ``s3://bucket/key`` and HEADs again after the read; when the ETag changed, the answer is discarded.

``read(fn)`` runs ``fn(connection)`` under these rules: an error raised while the object changed, or an answer
read while it changed, is retried on the new version (jittered backoff). The last of ``max_attempts`` pins by
download instead: one ``GetObject`` returns one whole version, and ``fn`` reads a private local copy of it
(attached as ``db`` all the same), so a writer publishing back to back cannot starve a reader; without that
last resort (``download_last_attempt=False``) the read ends in one clear error. Every failure is a one-line
``MyRunStreakError`` naming the database: a missing bucket or object, refused access, an unreachable or silent
endpoint, a corrupt object, a version that kept changing. Errors of ``fn``'s own SQL (e.g. a missing view)
propagate unchanged. ``connection()`` is the current attachment, for callers that run several queries: pinned
on a versioned bucket, else only as good as httpfs's own ETag check (use ``read``).

httpfs comes from the pinned ``duckdb-extension-httpfs`` wheel and is loaded from disk; credentials go into a
temporary, bucket-scoped DuckDB secret as bound parameters. A presigned URL (key id, signature, any session
token; never the secret) lives only inside the reader's DuckDB, and error texts are redacted before they are
shown, so no credential or signature reaches a message or a log. A reader is not thread-safe.
"""

from __future__ import annotations

import logging
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from botocore.exceptions import BotoCoreError, ClientError

from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri, parse_s3_uri
from myrunstreak_pipeline.duckdb_ops.manager import load_httpfs
from myrunstreak_pipeline.duckdb_ops.s3.common import (
    MISSING_DATABASE_HINT,
    RESTORE_HINT,
    ObjectVersion,
    S3Credentials,
    duckdb_endpoint,
    head_version,
    make_s3_client,
    read_error,
    resolve_endpoint_url,
    sql_string_literal,
    storage_error,
)
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql

log = logging.getLogger(__name__)
T = TypeVar("T")

PRESIGN_SECONDS = 3600
# Against moto, with a writer publishing back to back and the machine loaded, a read of an unversioned object
# needed up to 6 retries; 8 attempts (the last one a download) bound the wait at ~3 s of backoff.
MAX_ATTEMPTS = 8
LOCAL_HINT = "Is it a DuckDB file? Point --db / MYRUNSTREAK_DB at the database `myrunstreak run` created."
_SIGNED_QUERY = re.compile(r"\?[^\s\"']*X-Amz-[^\s\"']*")


def connect_local_read_only(path: Path, what: str, hint: str = RESTORE_HINT) -> duckdb.DuckDBPyConnection:
    """Open a local file read-only; failing that, a clear error (the real test of "is this a DuckDB file")."""
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "lock" in first_line.lower():
            raise MyRunStreakError(
                f"cannot open database {what}: another process is writing it",
                "Try again when the run that writes it has finished.",
            ) from None
        raise MyRunStreakError(
            f"cannot open database {what}: not a readable DuckDB database ({first_line})", hint
        ) from None


class ReadOnlyS3Database:
    """An in-memory DuckDB with one version of the S3 database attached read-only as ``db`` (and ``USE db``).

    ``read(fn)`` is the consistent way in (see the module docstring); ``connection()`` HEADs the object and
    re-attaches when a new version was published. ``retries`` counts the reads discarded because the object
    changed under them.
    """

    def __init__(
        self,
        uri: str,
        s3_endpoint_url: str | None = None,
        *,
        s3_client: Any = None,
        credentials: S3Credentials | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: float = 0.05,
        pin_versions: bool = True,
        download_last_attempt: bool = True,
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        import boto3

        self.location = parse_s3_uri(uri)
        self.endpoint_url = resolve_endpoint_url(s3_endpoint_url)
        # One session for the client, the credentials and the URL signer: botocore loads the S3 model once.
        self._session = boto3.Session()
        self.s3 = s3_client or make_s3_client(self.endpoint_url, session=self._session)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.pin_versions = pin_versions  # False after a pinned read was refused (no s3:GetObjectVersion)
        self.download_last_attempt = download_last_attempt
        self.retries = 0
        self._credentials = credentials  # resolved from the AWS chain on first use when not given
        self._signer: Any = None
        self._connection: duckdb.DuckDBPyConnection | None = None
        self.version: ObjectVersion | None = None  # of the version currently attached
        self.pinned = False  # the attachment reads that one version whatever is published meanwhile
        self._url: str | None = None  # what is attached: s3:// URI, presigned URL or local copy
        self._expires = 0.0  # monotonic time to re-sign a presigned URL
        self._copy: Path | None = None  # directory of the downloaded copy attached now

    @property
    def etag(self) -> str | None:
        return self.version.etag if self.version else None

    def __repr__(self) -> str:
        return f"ReadOnlyS3Database({self.location}, etag={self.etag!r}, pinned={self.pinned})"

    # -- the consistent read

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """``fn(connection)`` evaluated on one whole version of the database; see the module docstring."""
        for attempt in range(1, self.max_attempts + 1):
            version = self._head()
            download = attempt == self.max_attempts > 1 and self.download_last_attempt
            try:
                value = fn(self._downloaded() if download else self._connection_for(version))
            except Exception as error:
                if download or not self._moved_on(version):
                    raise self._failure(error) from None
                self._retry(attempt, f"{type(error).__name__} while it changed")
                continue
            if self.pinned or not self._moved_on(version):
                return value
            self._retry(attempt, "it changed during the read")
        raise MyRunStreakError(
            f"{self.location} kept changing while it was read ({self.max_attempts} attempts)",
            "A writer is publishing continuously; try again in a moment. On a versioned bucket readers pin one "
            "version and never need to retry (needs s3:GetObjectVersion).",
        )

    def query(self, sql: str, parameters: Any = None) -> list[tuple]:
        """All rows of one query (SQL from a ``.sql`` file), read from one whole version."""
        return self.read(lambda connection: connection.execute(sql, parameters).fetchall())

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The attachment of the current version (re-attached when a new one was published), retried like a
        read while a writer replaces the object during the ATTACH."""
        return self.read(lambda connection: connection)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            self.version = None
        self._drop_copy()

    def __enter__(self) -> ReadOnlyS3Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- versions and attachments

    def _head(self) -> ObjectVersion:
        return head_version(self.s3, self.location, "reading")

    def _moved_on(self, version: ObjectVersion) -> bool:
        """Was a new version published (or the object removed) since ``version``?"""
        try:
            return self._head() != version
        except MyRunStreakError:
            return True  # gone or unreachable now: the next attempt's HEAD reports it as one line

    def _retry(self, attempt: int, why: str) -> None:
        self.retries += 1
        if attempt < self.max_attempts:
            delay = random.uniform(0, min(1.0, self.backoff * 2**attempt))
            log.debug("%s: %s; reading again (attempt %d/%d)", self.location, why, attempt + 1, self.max_attempts)
            time.sleep(delay)

    def _connection_for(self, version: ObjectVersion) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            self._connection = self._new_connection()
        if version != self.version or (self._expires and time.monotonic() > self._expires):
            self._attach(version)
        return self._connection

    def _attach(self, version: ObjectVersion) -> None:
        if version.pinnable and self.pin_versions:
            url = self._presigned_url(version)
            try:
                self._attach_url(url, version, pinned=True)
                self._expires = time.monotonic() + PRESIGN_SECONDS / 2
                return
            except duckdb.IOException as error:
                if "not a valid duckdb database" in str(error).lower() or self._moved_on(version):
                    raise
                # A version read is refused although the object is there: the credentials lack
                # s3:GetObjectVersion (or the store cannot serve a presigned version URL). Detect changes instead.
                log.warning(
                    "%s: cannot read a pinned object version (%s); detecting changes instead. Grant "
                    "s3:GetObjectVersion so readers can pin the version they read.",
                    self.location,
                    self._redact(str(error)).splitlines()[0],
                )
                self.pin_versions = False
        self._attach_url(self.location.uri, version, pinned=False)

    def _downloaded(self) -> duckdb.DuckDBPyConnection:
        """The last resort: one GET returns one whole version; attach a private copy of it."""
        if self._connection is None:
            self._connection = self._new_connection()
        directory = Path(tempfile.mkdtemp(prefix="myrunstreak-read-"))
        path = directory / "snapshot.duckdb"
        try:
            response = self.s3.get_object(Bucket=self.location.bucket, Key=self.location.key)
            with response["Body"] as body, path.open("wb") as out:
                shutil.copyfileobj(body, out, 1 << 20)
            self._attach_url(str(path), ObjectVersion.from_head(response), pinned=True)
        except (BotoCoreError, ClientError) as error:
            shutil.rmtree(directory, ignore_errors=True)
            raise storage_error(error, self.location, "downloading") from None
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        log.debug("%s: reading a downloaded copy of version %s", self.location, self.etag)
        self._copy = directory
        return self._connection

    def _attach_url(self, url: str, version: ObjectVersion, *, pinned: bool) -> None:
        """Replace whatever is attached as ``db``. ATTACH takes no bound parameters, so the URL goes in as an
        escaped literal (a presigned URL carries a signature, never the secret, and is redacted from errors)."""
        assert self._connection is not None
        log.debug("%s: attaching version %s (was %s)", self.location, version.etag, self.etag)
        self.version, self.pinned, self._url, self._expires = None, False, url, 0.0
        self._connection.execute(load_sql("queries/s3/detach.sql"))
        self._drop_copy()
        statement = load_sql("queries/s3/attach_read_only.sql")
        self._connection.execute(statement.format(database_literal=sql_string_literal(url)))
        self.version, self.pinned = version, pinned

    def _drop_copy(self) -> None:
        if self._copy is not None:
            shutil.rmtree(self._copy, ignore_errors=True)
            self._copy = None

    def _presigned_url(self, version: ObjectVersion) -> str:
        if self._signer is None:
            from botocore.config import Config

            credentials = self._resolved_credentials()
            self._signer = self._session.client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=credentials.region,
                aws_access_key_id=credentials.key_id,
                aws_secret_access_key=credentials.secret,
                aws_session_token=credentials.session_token,
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"} if self.endpoint_url else {}),
            )
        params = {"Bucket": self.location.bucket, "Key": self.location.key, "VersionId": version.version_id}
        try:
            return self._signer.generate_presigned_url("get_object", Params=params, ExpiresIn=PRESIGN_SECONDS)
        except (BotoCoreError, ClientError) as error:
            raise storage_error(error, self.location, "reading") from None

    def _resolved_credentials(self) -> S3Credentials:
        self._credentials = self._credentials or S3Credentials.from_boto3(self._session)
        return self._credentials

    def _new_connection(self) -> duckdb.DuckDBPyConnection:
        credentials = self._resolved_credentials()
        endpoint, url_style, use_ssl = duckdb_endpoint(self.endpoint_url)
        connection = duckdb.connect(config={"autoinstall_known_extensions": False})  # offline: never download
        try:
            load_httpfs(connection)
            connection.execute(load_sql("queries/s3/reader_settings.sql"))
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

    # -- errors

    def _redact(self, text: str) -> str:
        if self._url and self._url != self.location.uri:
            text = text.replace(self._url, str(self.location))
        text = _SIGNED_QUERY.sub("?…", text)  # any other presigned URL (the .wal probe, a redirect)
        return self._credentials.redact(text) if self._credentials else text

    def _failure(self, error: Exception) -> Exception:
        """The one-line error for a failed read of an unchanged object (``fn``'s own SQL errors pass through)."""
        detail = self._redact(str(error)).splitlines()[0] if str(error) else type(error).__name__
        return read_error(error, self.location, detail)


class LocalReadOnlyDatabase:
    """A local file opened read-only, with the same ``read(fn)`` / ``connection()`` / ``close()`` as S3."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise MyRunStreakError(f"database not found: {self.path}", MISSING_DATABASE_HINT)
        self._connection: duckdb.DuckDBPyConnection | None = connect_local_read_only(
            self.path, str(self.path), LOCAL_HINT
        )

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            raise MyRunStreakError(f"the database {self.path} is closed")
        return self._connection

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        return fn(self.connection())  # a read-only file cannot change under its reader: no retry

    def query(self, sql: str, parameters: Any = None) -> list[tuple]:
        return self.read(lambda connection: connection.execute(sql, parameters).fetchall())

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> LocalReadOnlyDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_reader(database: str | Path, s3_endpoint_url: str | None = None) -> ReadOnlyS3Database | LocalReadOnlyDatabase:
    """A reader for a local path or an ``s3://`` URI: ``with open_reader(db) as reader: reader.read(fn)``."""
    if is_s3_uri(database):
        return ReadOnlyS3Database(str(database), s3_endpoint_url)
    return LocalReadOnlyDatabase(database)


def open_read_only(database: str | Path, s3_endpoint_url: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection to a local path or an ``s3://`` URI (its tables usable unqualified).

    On S3 the connection stays on the version it attached (pinned on a versioned bucket); for reads that must
    see one whole version on any bucket, use ``open_reader(...).read(fn)``.
    """
    return open_reader(database, s3_endpoint_url).connection()
