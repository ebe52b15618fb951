"""Dagster resources: the SmashRun API and the DuckDB storage, configured from the contract's env vars.

Secrets (access token, client secret) are bound as ``dg.EnvVar`` references, so Dagster stores only the
variable NAME in run config, the UI and the event log; the value is resolved inside the run. Non-secret
settings (base URLs, database path) are plain values so the UI shows them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Optional

import dagster as dg

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings import DEFAULT_API_BASE, DEFAULT_AUTH_BASE, DEFAULT_TOKEN_FILE, Settings

if TYPE_CHECKING:
    from myrunstreak_pipeline.duckdb_ops import DuckDBManager
    from myrunstreak_pipeline.smashrun.client import SmashRunClient

DEFAULT_DETAIL_BUDGET = 50  # detail requests per run: several runs an hour stay under SmashRun's ~250/hour
WINDOW_PAGES = 8  # a year of runs (up to ~800) pages through 100-item pages instead of one full-history listing
SECRET_ENV_VARS = ("SMASHRUN_ACCESS_TOKEN", "SMASHRUN_CLIENT_ID", "SMASHRUN_CLIENT_SECRET")


def _env_or_none(name: str) -> Optional[str]:
    """An ``EnvVar`` reference when the variable is set now (the run resolves it), else None (not configured)."""
    return dg.EnvVar(name) if os.environ.get(name) else None


class SmashRunResource(dg.ConfigurableResource):
    """SmashRun API access. ``client()`` returns a fresh ``SmashRunClient`` (one per step; not thread-safe)."""

    api_base: str = DEFAULT_API_BASE
    auth_base: str = DEFAULT_AUTH_BASE
    access_token: Optional[str] = None  # user-level token; bind with dg.EnvVar("SMASHRUN_ACCESS_TOKEN")
    client_id: Optional[str] = None
    client_secret: Optional[str] = None  # bind with dg.EnvVar("SMASHRUN_CLIENT_SECRET")
    token_file: str = DEFAULT_TOKEN_FILE
    detail_request_budget: int = DEFAULT_DETAIL_BUDGET

    def __repr__(self) -> str:  # never show the resolved secrets
        return f"SmashRunResource(api_base={self.api_base!r}, detail_request_budget={self.detail_request_budget})"

    __str__ = __repr__

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmashRunResource":
        budget = os.environ.get("MYRUNSTREAK_DETAIL_BUDGET")
        return cls(
            api_base=settings.api_base,
            auth_base=settings.auth_base,
            access_token=_env_or_none("SMASHRUN_ACCESS_TOKEN"),
            client_id=_env_or_none("SMASHRUN_CLIENT_ID"),
            client_secret=_env_or_none("SMASHRUN_CLIENT_SECRET"),
            token_file=settings.token_file,
            detail_request_budget=int(budget) if budget else DEFAULT_DETAIL_BUDGET,
        )

    def client(self) -> "SmashRunClient":
        from myrunstreak_pipeline.smashrun.client import SmashRunClient, credentials_from_settings

        credentials = SimpleNamespace(
            access_token=self.access_token,
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_file=self.token_file,
            auth_base=self.auth_base.rstrip("/"),
        )
        return SmashRunClient(self.api_base, credentials_from_settings(credentials),  # type: ignore[arg-type]
                              max_window_pages=WINDOW_PAGES)


class DuckDBStorage(dg.ConfigurableResource):
    """The pipeline's DuckDB database, opened per step (the file lock is held only while a step works).

    ``database`` is a local path today. S3 seam: an ``s3://bucket/key.duckdb`` value is routed through
    ``_local_copy`` (download → work locally → compare-and-swap publish) once the S3 storage layer is wired in.
    """

    database: str

    @classmethod
    def from_settings(cls, settings: Settings) -> "DuckDBStorage":
        return cls(database=settings.db)

    @contextmanager
    def writer(self) -> Iterator["DuckDBManager"]:
        """A read-write, migrated database with fresh views; checkpointed and closed afterwards."""
        from myrunstreak_pipeline.duckdb_ops import DuckDBManager

        with self._local_copy(writable=True) as path, DuckDBManager(path) as manager:
            yield manager

    @contextmanager
    def reader(self) -> Iterator["DuckDBManager"]:
        """A read-only connection (fails fast with a MyRunStreakError while a writer holds the lock)."""
        from myrunstreak_pipeline.duckdb_ops import DuckDBManager

        import duckdb

        with self._local_copy(writable=False) as path:
            try:
                manager = DuckDBManager(path, read_only=True)
            except duckdb.Error as error:  # e.g. a writer in this same process (different configuration)
                raise MyRunStreakError(f"the database {path} is busy ({type(error).__name__})") from None
            with manager:
                yield manager

    @contextmanager
    def _local_copy(self, writable: bool) -> Iterator[str]:
        if self.database.lower().startswith("s3://"):
            raise MyRunStreakError(
                "an s3:// database is not wired into the Dagster storage resource yet",
                hint="set MYRUNSTREAK_DB to a local path for now",
            )
        yield self.database
