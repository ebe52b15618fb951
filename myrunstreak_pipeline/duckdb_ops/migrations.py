"""Versioned schema migrations: ``sql/migrations/vNNN_name.sql``, applied in order, each in its own transaction.

Each applied file is recorded in ``schema_version`` in the same transaction, so re-opening a migrated database
applies nothing and a failed migration leaves the database at the previous version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from myrunstreak_pipeline.duckdb_ops.transactions import transaction
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql, sql_files

_MIGRATION_NAME = re.compile(r"^v(\d{3,})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover(paths: list[Path] | None = None) -> list[Migration]:
    """The migrations in version order (default: the files of ``sql/migrations``)."""
    migrations = []
    for path in sql_files("migrations") if paths is None else paths:
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise MyRunStreakError(
                f"migration file {path.name!r} is not named vNNN_name.sql", hint="rename it, e.g. v003_add_x.sql"
            )
        migrations.append(Migration(int(match.group(1)), match.group(2), path))
    migrations.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in migrations]
    if len(set(versions)) != len(versions):
        raise MyRunStreakError("two migration files share a version number", hint="give each file its own vNNN")
    return migrations


def applied_versions(connection: duckdb.DuckDBPyConnection) -> list[int]:
    if not connection.execute(load_sql("queries/db/schema_version_exists.sql")).fetchone()[0]:
        return []
    return [row[0] for row in connection.execute(load_sql("queries/db/applied_migrations.sql")).fetchall()]


def current_version(connection: duckdb.DuckDBPyConnection) -> int:
    versions = applied_versions(connection)
    return versions[-1] if versions else 0


def migrate(
    connection: duckdb.DuckDBPyConnection,
    *,
    migrations: list[Migration] | None = None,
    target_version: int | None = None,
) -> list[int]:
    """Apply the pending migrations (up to ``target_version``); return the versions applied now."""
    migrations = discover() if migrations is None else migrations
    done = set(applied_versions(connection))
    known = {migration.version for migration in migrations}
    if done and max(done) > max(known, default=0):
        raise MyRunStreakError(
            f"the database is at schema version {max(done)}, newer than this code knows ({max(known, default=0)})",
            hint="upgrade myrunstreak before writing to this database",
        )
    applied = []
    for migration in migrations:
        if migration.version in done or (target_version is not None and migration.version > target_version):
            continue
        with transaction(connection):
            connection.execute(migration.sql)
            connection.execute(
                load_sql("queries/db/record_migration.sql"), {"version": migration.version, "name": migration.name}
            )
        applied.append(migration.version)
    return applied
