"""Compare-and-swap publishing of a DuckDB database kept as one S3 object.

DuckDB cannot write a database over S3, so a writer downloads the object together with its ETag into a
fresh local working copy, lets the caller's idempotent ``apply(local_path)`` do all writes, checkpoints and
sanity-checks the copy, then publishes it with a conditional ``put_object`` (``IfMatch=<etag>``, or
``IfNoneMatch="*"`` when the object did not exist yet). Another writer's publish in between makes S3 answer
412 (or 409); the publisher then re-downloads and re-applies the same work, a bounded number of times.
Nothing is uploaded until the very end, so a failed or killed run leaves the object untouched (docs/s3.md).
``write_with_retries`` and ``single_attempt_writer`` are the same cycle with a ``DuckDBManager`` on the copy.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from myrunstreak_pipeline.duckdb_ops.location import S3Location
from myrunstreak_pipeline.duckdb_ops.manager import DuckDBManager
from myrunstreak_pipeline.duckdb_ops.s3.common import error_code, head_object, http_status, storage_error
from myrunstreak_pipeline.duckdb_ops.s3.reader import connect_local_read_only
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql

log = logging.getLogger(__name__)
T = TypeVar("T")

# Object metadata stamped on every publish (S3 stores them as x-amz-meta-* headers).
METADATA_RUN_ID = "run-id"
METADATA_SHA256 = "sha256"
METADATA_GENERATION = "generation"


class ConflictError(MyRunStreakError):
    """Another writer published between our download and our conditional put (S3 answered 412 or 409)."""


class PublishUnconfirmedError(MyRunStreakError):
    """The put's outcome is unknown (connection lost, 5xx) and a HEAD shows it did not land."""


@dataclass
class WorkingCopy:
    """A local copy of the database in its own temp directory, with the ETag it was downloaded at."""

    path: Path
    etag: str | None  # None: the object did not exist, so the publish must use IfNoneMatch="*"
    source_sha256: str | None = None  # of the downloaded bytes (None when the object did not exist)
    generation: int = 0  # publish counter read from the object's metadata

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)

    def __enter__(self) -> WorkingCopy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()


@dataclass(frozen=True)
class PublishResult:
    etag: str | None  # of the object now in S3
    attempts: int
    published: bool  # False: the work changed nothing, so no new version was written
    checksum: str  # SHA-256 (hex) of the database bytes now in S3
    value: Any = None  # what apply() returned on the attempt that got published
    version_id: str | None = None  # set on versioned buckets: the rollback target for this publish
    row_counts: dict[str, int] = field(default_factory=dict)  # from the pre-publish sanity check
    recovered: bool = False  # True: the put's response was lost, HEAD showed our write had landed


def _sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class S3DatabasePublisher:
    """Download -> apply -> checkpoint + sanity check -> conditional put, retried on conflicts.

    ``s3_client`` is a boto3 S3 client (``make_s3_client()`` or a Dagster ``S3Resource.get_client()``).
    ``run_id`` is stamped on every publish so a lost put response can be recognised afterwards.
    """

    def __init__(
        self,
        s3_client: Any,
        location: S3Location,
        run_id: str,
        workdir: Path | str | None = None,
        max_attempts: int = 5,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
    ):
        if not run_id or not run_id.isascii() or not run_id.isprintable() or len(run_id) > 256:
            raise ValueError("run_id must be non-empty printable ASCII (it is stored as S3 object metadata)")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.s3 = s3_client
        self.location = location
        self.run_id = run_id
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.gettempdir())
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap

    def __repr__(self) -> str:
        return f"S3DatabasePublisher({self.location}, run_id={self.run_id!r})"

    # -- the whole loop

    def run(self, apply: Callable[[Path], Any]) -> PublishResult:
        """Apply the idempotent ``apply(local_path)`` to a fresh copy and publish it; retry on conflicts.

        ``apply`` must open the local DuckDB file itself and close every connection before returning.
        Any exception from ``apply`` (or from the checks) propagates and nothing is published.
        """
        for attempt in range(1, self.max_attempts + 1):
            with self.download() as working_copy:
                value = apply(working_copy.path)
                try:
                    result = self.publish(working_copy)
                except (ConflictError, PublishUnconfirmedError) as error:
                    if attempt == self.max_attempts:
                        raise MyRunStreakError(
                            f"gave up publishing {self.location} after {attempt} attempts: {error}",
                            "Another writer keeps changing the database. Serialise writers (one Dagster pool "
                            "slot) and rerun; nothing from this run was published.",
                        ) from None
                    delay = random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))
                    log.info("%s; retrying (attempt %d/%d) in %.2fs", error, attempt + 1, self.max_attempts, delay)
                    time.sleep(delay)  # full jitter, so competing writers spread out
                    continue
            return PublishResult(
                etag=result.etag,
                attempts=attempt,
                published=result.published,
                checksum=result.checksum,
                value=value,
                version_id=result.version_id,
                row_counts=result.row_counts,
                recovered=result.recovered,
            )
        raise AssertionError("unreachable: the loop returns or raises")

    # -- steps, also usable on their own (a Dagster resource downloads at run start, publishes at run end)

    def download(self) -> WorkingCopy:
        """Fetch the object and its ETag (one response) into a new temp dir under ``workdir``."""
        path = self._new_working_path()
        try:
            try:
                response = self.s3.get_object(Bucket=self.location.bucket, Key=self.location.key)
            except ClientError as error:
                if error_code(error) == "NoSuchKey":
                    log.info("%s does not exist yet; starting from an empty database", self.location)
                    return WorkingCopy(path=path, etag=None)
                raise storage_error(error, self.location, "downloading") from None
            except BotoCoreError as error:
                raise storage_error(error, self.location, "downloading") from None
            digest = hashlib.sha256()
            try:
                with response["Body"] as body, path.open("wb") as out:
                    for chunk in iter(lambda: body.read(1 << 20), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except BotoCoreError as error:
                raise storage_error(error, self.location, "downloading") from None
            connect_local_read_only(path, str(self.location)).close()
            metadata = response.get("Metadata") or {}
            generation = int(metadata[METADATA_GENERATION]) if metadata.get(METADATA_GENERATION, "").isdigit() else 0
            log.info("downloaded %s (etag %s, %d bytes)", self.location, response["ETag"], path.stat().st_size)
            return WorkingCopy(
                path=path, etag=response["ETag"], source_sha256=digest.hexdigest(), generation=generation
            )
        except BaseException:
            shutil.rmtree(path.parent, ignore_errors=True)
            raise

    def publish(self, working_copy: WorkingCopy) -> PublishResult:
        """Checkpoint and sanity-check the copy, then put it conditionally. Raises ConflictError on 412/409."""
        row_counts = self.checkpoint_and_verify(working_copy.path)
        checksum = _sha256_file(working_copy.path)
        if checksum == working_copy.source_sha256:
            log.info("%s unchanged by this run; nothing to publish", self.location)
            return PublishResult(
                etag=working_copy.etag, attempts=1, published=False, checksum=checksum, row_counts=row_counts
            )
        condition = {"IfMatch": working_copy.etag} if working_copy.etag else {"IfNoneMatch": "*"}
        metadata = {
            METADATA_RUN_ID: self.run_id,
            METADATA_SHA256: checksum,
            METADATA_GENERATION: str(working_copy.generation + 1),
        }
        try:
            with working_copy.path.open("rb") as body:
                # A single put_object: upload_file cannot send IfMatch (boto3 #4366), and one PUT holds 5 GiB.
                response = self.s3.put_object(
                    Bucket=self.location.bucket,
                    Key=self.location.key,
                    Body=body,
                    ContentType="application/octet-stream",
                    ChecksumSHA256=base64.b64encode(bytes.fromhex(checksum)).decode("ascii"),
                    Metadata=metadata,
                    **condition,
                )
        except ClientError as error:
            code, status = error_code(error), http_status(error)
            if status in (409, 412) or code in ("PreconditionFailed", "ConditionalRequestConflict"):
                # A retried put whose first try landed also gets 412: ask S3 whose version is there now.
                if self.published_by_this_run(checksum):
                    return self._recovered(checksum, row_counts)
                raise ConflictError(f"{self.location} was changed by another writer ({code or status})") from None
            if code == "NoSuchKey":
                raise MyRunStreakError(
                    f"{self.location} was deleted while this run was writing it; refusing to recreate it",
                    "Restore the object (bucket versioning) or remove it deliberately and rerun.",
                ) from None
            if status >= 500:
                return self._after_ambiguous_failure(checksum, row_counts, f"S3 error {code or status}")
            raise storage_error(error, self.location, "publishing") from None
        except (BotoConnectionError, HTTPClientError) as error:
            return self._after_ambiguous_failure(checksum, row_counts, type(error).__name__)
        except BotoCoreError as error:
            raise storage_error(error, self.location, "publishing") from None
        log.info("published %s (etag %s, run %s)", self.location, response.get("ETag"), self.run_id)
        return PublishResult(
            etag=response.get("ETag"),
            attempts=1,
            published=True,
            checksum=checksum,
            version_id=response.get("VersionId"),
            row_counts=row_counts,
        )

    def published_by_this_run(self, checksum: str) -> bool:
        """The recovery check: does the current object carry this run's id and these exact bytes?"""
        metadata = self._head().get("Metadata") or {}
        return metadata.get(METADATA_RUN_ID) == self.run_id and metadata.get(METADATA_SHA256) == checksum

    def checkpoint_and_verify(self, path: Path) -> dict[str, int]:
        """The pre-upload gate: CHECKPOINT, insist on no WAL, reopen read-only, require ``schema_version`` and
        count every table. Returns the row counts; raises MyRunStreakError when the copy must not be published."""
        if not path.is_file():
            raise MyRunStreakError(f"the work for {self.location} did not create a database at {path}")
        try:
            connection = duckdb.connect(str(path))
            try:
                connection.execute("CHECKPOINT")  # folds the WAL into the file: a copy without it loses data
            finally:
                connection.close()
        except duckdb.Error as error:
            raise MyRunStreakError(f"cannot checkpoint the working copy of {self.location}: {error}") from None
        wal = path.with_name(path.name + ".wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise MyRunStreakError(
                f"the working copy of {self.location} still has a write-ahead log after CHECKPOINT",
                "apply() must commit and close all of its DuckDB connections before returning.",
            )
        try:
            connection = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as error:  # a local temp file: its error text carries no secrets
            raise MyRunStreakError(
                f"cannot reopen the working copy of {self.location} read-only: {str(error).splitlines()[0]}",
                "apply() must close all of its DuckDB connections before returning.",
            ) from None
        try:
            tables = connection.execute(load_sql("queries/s3/user_tables.sql")).fetchall()
            if ("main", "schema_version") not in tables:
                raise MyRunStreakError(
                    f"refusing to publish {self.location}: the database has no schema_version table",
                    "apply() must create/migrate the schema (DuckDBManager does) before loading data.",
                )
            counts: dict[str, int] = {}
            for schema, table in tables:
                name = f"{schema}.{table}" if schema != "main" else table
                quoted = ".".join('"' + part.replace('"', '""') + '"' for part in (schema, table))
                counts[name] = connection.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
            return counts
        except duckdb.Error as error:
            raise MyRunStreakError(f"sanity check of {self.location} failed: {error}") from None
        finally:
            connection.close()

    # -- internals

    def _new_working_path(self) -> Path:
        """Where a new working copy goes: the object's file name in a fresh temp dir under ``workdir``."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix="myrunstreak-s3-", dir=self.workdir))
        return directory / (Path(self.location.key).name or "database.duckdb")

    def _head(self) -> dict:
        return head_object(self.s3, self.location, "checking") or {}

    def _recovered(self, checksum: str, row_counts: dict[str, int]) -> PublishResult:
        head = self._head()
        log.info(
            "put response for %s was lost, but this run's write had landed (etag %s)", self.location, head.get("ETag")
        )
        return PublishResult(
            etag=head.get("ETag"),
            attempts=1,
            published=True,
            checksum=checksum,
            version_id=head.get("VersionId"),
            row_counts=row_counts,
            recovered=True,
        )

    def _after_ambiguous_failure(self, checksum: str, row_counts: dict[str, int], what: str) -> PublishResult:
        if self.published_by_this_run(checksum):
            return self._recovered(checksum, row_counts)
        raise PublishUnconfirmedError(f"publishing {self.location} failed ({what}) and did not land")


# -- the same cycle with a DuckDBManager (migrated, views refreshed) opened on the working copy


def write_with_retries(publisher: S3DatabasePublisher, apply: Callable[[DuckDBManager], T]) -> tuple[T, PublishResult]:
    """Run ``apply(manager)`` on a fresh working copy and publish it; re-applied after a conflict (bounded)."""

    def apply_to_copy(path: Path) -> T:
        with DuckDBManager(path) as manager:  # CHECKPOINT + close on success
            return apply(manager)

    result = publisher.run(apply_to_copy)
    return result.value, result


@contextmanager
def single_attempt_writer(publisher: S3DatabasePublisher) -> Iterator[DuckDBManager]:
    """``with``-block form: one download, the block's writes, one publish. A ``with`` body cannot be re-run,
    so a conflict is a clear error here; prefer ``DuckDBStorage.write(apply)``, which re-applies."""
    with publisher.download() as working_copy:
        with DuckDBManager(working_copy.path) as manager:
            yield manager
        try:
            publisher.publish(working_copy)
        except ConflictError as error:
            raise MyRunStreakError(
                f"{error}; nothing from this step was published",
                "Rerun the step; DuckDBStorage.write(apply) retries such conflicts by itself.",
            ) from None
