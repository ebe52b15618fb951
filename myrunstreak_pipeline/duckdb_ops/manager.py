"""DuckDBManager: open a local DuckDB file (or an in-memory database), migrate it, refresh the views, close it
cleanly (CHECKPOINT, so no ``.wal`` is left next to a file that may be copied or uploaded).

S3 seam: this class only ever opens a *local* path. ``s3://…`` is the storage layer's job: it downloads the object
to a local working copy, hands that path to DuckDBManager, and publishes the file back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import duckdb

from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri
from myrunstreak_pipeline.duckdb_ops.migrations import current_version, migrate
from myrunstreak_pipeline.duckdb_ops.transactions import transaction as _transaction
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import sql_files

MEMORY = ":memory:"


def load_httpfs(connection: duckdb.DuckDBPyConnection) -> None:
    """Load httpfs from the pinned ``duckdb-extension-httpfs`` wheel (offline: nothing is downloaded)."""
    try:
        import duckdb_extension_httpfs
    except ImportError:
        raise MyRunStreakError(
            "the duckdb-extension-httpfs package is not installed",
            hint=f"pip install duckdb-extension-httpfs=={duckdb.__version__}",
        ) from None
    path = (
        Path(duckdb_extension_httpfs.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "httpfs.duckdb_extension"
    )
    if not path.is_file():
        raise MyRunStreakError(
            f"no httpfs extension for DuckDB {duckdb.__version__} in duckdb-extension-httpfs",
            hint=f"install duckdb-extension-httpfs=={duckdb.__version__} (it must match the duckdb version)",
        )
    connection.load_extension(str(path))


def _local_path(path_or_uri: str | Path) -> str:
    text = str(path_or_uri)
    if text == MEMORY:
        return text
    if is_s3_uri(text):
        raise MyRunStreakError(
            "DuckDBManager opens local files only; an s3:// database goes through the storage layer",
            hint="use the storage layer, which downloads the S3 object to a local working copy and publishes it back",
        )
    if "://" in text:
        raise MyRunStreakError(
            f"unsupported database location scheme: {text.split('://', 1)[0]}://",
            hint="use a local file path or s3://bucket/key.duckdb",
        )
    return str(Path(text).expanduser())


class DuckDBManager:
    """Owns one DuckDB connection. Use as a context manager::

    with DuckDBManager("runs.duckdb") as manager:
        repo = RunRepository(manager.connection)
    """

    def __init__(self, path_or_uri: str | Path = MEMORY, *, read_only: bool = False, apply_migrations: bool = True):
        self.path = _local_path(path_or_uri)
        self.read_only = read_only
        self.in_memory = self.path == MEMORY
        if self.in_memory and read_only:
            raise MyRunStreakError("an in-memory database cannot be opened read-only")
        if not self.in_memory:
            file = Path(self.path)
            if read_only and not file.is_file():
                raise MyRunStreakError(f"database file not found: {file}", hint="run the pipeline first to create it")
            if not read_only:
                file.parent.mkdir(parents=True, exist_ok=True)
        self._connection: duckdb.DuckDBPyConnection | None = self._connect()
        self.applied_migrations: list[int] = []
        try:
            if apply_migrations and not read_only:
                self.applied_migrations = migrate(self._connection)
                self.refresh_views()
        except BaseException:
            self._connection.close()
            self._connection = None
            raise

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return duckdb.connect(self.path, read_only=self.read_only)
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise MyRunStreakError(
                    f"the database {self.path} is in use by another process",
                    hint="DuckDB allows one writing process; wait for the other run to finish",
                ) from None
            raise MyRunStreakError(f"cannot open the database {self.path}: {error}") from None

    # --- the connection ---
    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            raise MyRunStreakError("the database connection is closed")
        return self._connection

    @property
    def closed(self) -> bool:
        return self._connection is None

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """BEGIN … COMMIT, or ROLLBACK when the block raises."""
        with _transaction(self.connection) as connection:
            yield connection

    def schema_version(self) -> int:
        return current_version(self.connection)

    def checkpoint(self) -> None:
        """Merge the WAL into the database file (a copy of the file alone then holds every committed change)."""
        if not self.read_only:
            self.connection.execute("CHECKPOINT")

    def refresh_views(self) -> list[str]:
        """(Re)create the analytics views: every ``sql/views/*.sql`` in name order (idempotent CREATE OR REPLACE)."""
        names = []
        for path in sql_files("views"):
            self.connection.execute(path.read_text(encoding="utf-8"))
            names.append(path.name)
        return names

    def close(self) -> None:
        """Close; a writable file is checkpointed first so no ``.wal`` is left behind."""
        if self._connection is None:
            return
        try:
            if not self.in_memory:
                self.checkpoint()
        finally:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> DuckDBManager:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        elif self._connection is not None:  # failing block: just release the file, never mask the error
            try:
                self._connection.close()
            finally:
                self._connection = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("read-only" if self.read_only else "read-write")
        return f"DuckDBManager({self.path!r}, {state})"
