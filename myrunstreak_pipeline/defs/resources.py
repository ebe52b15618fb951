"""Dagster resources: the SmashRun API and the DuckDB storage, built from ``Settings`` (``from_settings``).

Secrets (access token, client secret) are bound as ``dg.EnvVar`` references, so Dagster stores only the
variable NAME in run config, the UI and the event log; the value is resolved inside the run. Non-secret
settings (base URLs, database path) are plain values so the UI shows them.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import dagster as dg
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings import (
    DEFAULT_API_BASE,
    DEFAULT_AUTH_BASE,
    DEFAULT_DETAIL_BUDGET,
    DEFAULT_DETAIL_MAX_ATTEMPTS,
    DEFAULT_TOKEN_FILE,
    Settings,
)

if TYPE_CHECKING:
    import duckdb

    from myrunstreak_pipeline.duckdb_ops import DuckDBManager
    from myrunstreak_pipeline.duckdb_ops.s3 import ReadOnlyS3Database, S3DatabasePublisher
    from myrunstreak_pipeline.smashrun.client import SmashRunClient

WINDOW_PAGES = 8  # a year of runs (up to ~800) pages through 100-item pages instead of one full-history listing
T = TypeVar("T")


def _secret_reference(settings: Settings, field_name: str) -> str | None:
    """An ``EnvVar`` reference to the variable behind a secret setting (the run resolves it), or None when unset:
    Dagster then stores only the variable's name, never its value."""
    if getattr(settings, field_name) is None:
        return None
    return dg.EnvVar(Settings.model_fields[field_name].validation_alias)


class S3ClientResource(S3Resource):
    """dagster-aws's ``S3Resource`` whose client uses path-style addressing for a custom endpoint (MinIO, moto)
    and standard retries. Credentials come from the standard AWS chain: never set the key fields in config."""

    def get_client(self) -> Any:
        import boto3

        from myrunstreak_pipeline.duckdb_ops.s3 import make_s3_client

        session = boto3.Session(profile_name=self.profile_name, region_name=self.region_name)
        return make_s3_client(self.endpoint_url, session=session)


class SmashRunResource(dg.ConfigurableResource):
    """SmashRun API access. ``client()`` returns a fresh ``SmashRunClient`` (one per step; not thread-safe)."""

    api_base: str = DEFAULT_API_BASE
    auth_base: str = DEFAULT_AUTH_BASE
    access_token: str | None = None  # user-level token; bind with dg.EnvVar("SMASHRUN_ACCESS_TOKEN")
    client_id: str | None = None
    client_secret: str | None = None  # bind with dg.EnvVar("SMASHRUN_CLIENT_SECRET")
    token_file: str = DEFAULT_TOKEN_FILE
    detail_request_budget: int = DEFAULT_DETAIL_BUDGET
    detail_max_attempts: int = DEFAULT_DETAIL_MAX_ATTEMPTS  # a detail id failing this often is given up on

    def __repr__(self) -> str:  # never show the resolved secrets
        return f"SmashRunResource(api_base={self.api_base!r}, detail_request_budget={self.detail_request_budget})"

    __str__ = __repr__

    @classmethod
    def from_settings(cls, settings: Settings) -> SmashRunResource:
        return cls(
            api_base=settings.api_base,
            auth_base=settings.auth_base,
            access_token=_secret_reference(settings, "access_token"),
            client_id=_secret_reference(settings, "client_id"),
            client_secret=_secret_reference(settings, "client_secret"),
            token_file=settings.token_file,
            detail_request_budget=settings.detail_budget,
            detail_max_attempts=settings.detail_max_attempts,
        )

    def client(self) -> SmashRunClient:
        from myrunstreak_pipeline.smashrun.client import SmashRunClient
        from myrunstreak_pipeline.smashrun.credentials import build_credentials

        credentials = build_credentials(
            access_token=self.access_token,
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_file=self.token_file,
            auth_base=self.auth_base,
        )
        return SmashRunClient(self.api_base, credentials, max_window_pages=WINDOW_PAGES)


@dataclass
class ReadOnlyConnection:
    """What ``DuckDBStorage.reader()`` yields for an ``s3://`` database: ``.connection`` like a DuckDBManager."""

    connection: duckdb.DuckDBPyConnection


class DuckDBStorage(dg.ConfigurableResource):
    """The pipeline's DuckDB database, opened per step (the file lock is held only while a step works).

    ``database`` is a local path or ``s3://bucket/key.duckdb``. For S3 (``duckdb_ops.s3``): each writing step
    works on a local copy downloaded with its ETag (once per run, then reused while the ETag matches) and
    publishes it with a conditional put stamped with the Dagster run id, re-applying its work after a
    conflict; readers attach the object read-only over httpfs. Only the endpoint is configured here: AWS
    credentials come from the standard chain, never from resource config. (The S3 client comes from
    dagster-aws's S3Resource, built on demand rather than nested: a nested resource turns this one into a
    context-manager resource, and every ``build_sensor_context(resources=...)`` would then need ``with``.)
    """

    database: str
    s3_endpoint_url: str | None = None  # S3-compatible store; None: MYRUNSTREAK_S3_ENDPOINT_URL, else AWS

    _run_id: str | None = PrivateAttr(default=None)
    _scratch: Path | None = PrivateAttr(default=None)  # run-scoped: working copies + the published-copy cache
    _s3_reader: Any = PrivateAttr(default=None)  # run-scoped ReadOnlyS3Database (re-attaches on a new ETag)
    _last_publish: Any = PrivateAttr(default=None)

    def __repr__(self) -> str:
        return f"DuckDBStorage(database={self.database!r})"

    __str__ = __repr__

    @classmethod
    def from_settings(cls, settings: Settings) -> DuckDBStorage:
        return cls(database=settings.db, s3_endpoint_url=settings.s3_endpoint_url)

    @property
    def is_s3(self) -> bool:
        return is_s3_uri(self.database)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Not yield_for_execution/teardown: those make this a generator resource, which every caller of
        # build_sensor_context(...) would then have to open with ``with``. The run-scoped scratch directory
        # and reader are released when Dagster drops the initialised resource (or at interpreter exit).
        run = context.run
        self._run_id = run.run_id if run is not None else None
        if self.is_s3:
            scratch = tempfile.mkdtemp(prefix="myrunstreak-run-")
            weakref.finalize(self, shutil.rmtree, scratch, ignore_errors=True)
            self._scratch = Path(scratch)

    def write(self, apply: Callable[[DuckDBManager], T]) -> T:
        """Run the idempotent ``apply(manager)`` on the read-write, migrated database and return its value.

        Local: once, like ``writer()``. S3: on a working copy that is then published conditionally; after a
        conflict (another writer published meanwhile) ``apply`` runs again on the new version (bounded), so
        keep network calls outside it. Nothing is published when ``apply`` raises.
        """
        if not self.is_s3:
            with self.writer() as manager:
                return apply(manager)
        from myrunstreak_pipeline.duckdb_ops.s3.publisher import write_with_retries

        value, self._last_publish = write_with_retries(self._publisher(), apply)
        return value

    def publish_metadata(self) -> dict[str, Any]:
        """Materialization metadata of this step's S3 publish (rollback target); empty for a local file."""
        result = self._last_publish  # set by an S3 write only
        if result is None:
            return {}
        metadata = {
            "s3_published": result.published,
            "s3_publish_attempts": result.attempts,
            "s3_etag": result.etag,
            "s3_version_id": result.version_id,
        }
        return {key: value for key, value in metadata.items() if value is not None}

    @contextmanager
    def writer(self) -> Iterator[DuckDBManager]:
        """A read-write, migrated database with fresh views; checkpointed and closed afterwards (S3: published
        once, a conflict is an error; ``write(apply)`` re-applies instead)."""
        from myrunstreak_pipeline.duckdb_ops import DuckDBManager

        if self.is_s3:
            from myrunstreak_pipeline.duckdb_ops.s3.publisher import single_attempt_writer

            with single_attempt_writer(self._publisher()) as manager:
                yield manager
            return
        with DuckDBManager(self.database) as manager:
            yield manager

    @contextmanager
    def reader(self) -> Iterator[DuckDBManager | ReadOnlyConnection]:
        """A read-only connection as ``.connection`` (local: fails fast with a MyRunStreakError while a writer
        holds the lock; S3: attached over httpfs, the object's current version)."""
        import duckdb

        from myrunstreak_pipeline.duckdb_ops import DuckDBManager

        if self.is_s3:
            with self._s3_read_only() as connection:
                yield connection
            return
        try:
            manager = DuckDBManager(self.database, read_only=True)
        except duckdb.Error as error:  # e.g. a writer in this same process (different configuration)
            raise MyRunStreakError(f"the database {self.database} is busy ({type(error).__name__})") from None
        with manager:
            yield manager

    def _s3_client(self) -> Any:
        return S3ClientResource(endpoint_url=self.s3_endpoint_url).get_client()

    def _publisher(self) -> S3DatabasePublisher:
        from myrunstreak_pipeline.duckdb_ops.s3.run_cache import make_publisher

        return make_publisher(self._s3_client(), self.database, self._run_id, self._scratch)

    def _new_s3_reader(self) -> ReadOnlyS3Database:
        from myrunstreak_pipeline.duckdb_ops.s3 import ReadOnlyS3Database

        return ReadOnlyS3Database(self.database, self.s3_endpoint_url, s3_client=self._s3_client())

    @contextmanager
    def _s3_read_only(self) -> Iterator[ReadOnlyConnection]:
        if self._scratch is not None:  # in a run: one attachment, re-attached when a step published anew
            if self._s3_reader is None:
                self._s3_reader = self._new_s3_reader()
                weakref.finalize(self, self._s3_reader.close)
            yield ReadOnlyConnection(self._s3_reader.connection())
            return
        with self._new_s3_reader() as database:
            yield ReadOnlyConnection(database.connection())
