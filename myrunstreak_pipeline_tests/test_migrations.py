"""Versioned migrations: in order, each in one transaction, recorded, idempotent; upgrades keep the data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository, migrate
from myrunstreak_pipeline.duckdb_ops.migrations import applied_versions, discover
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import sql_files
from myrunstreak_pipeline_tests.fixtures import payloads
from myrunstreak_pipeline_tests.test_duckdb_ops import snapshot

LATEST = max(migration.version for migration in discover())


def test_fresh_database_gets_every_migration_once(tmp_path: Path):
    path = tmp_path / "fresh.duckdb"
    with DuckDBManager(path) as manager:
        assert manager.applied_migrations == [m.version for m in discover()]
        assert manager.schema_version() == LATEST
        names = manager.connection.execute("SELECT version, name FROM schema_version ORDER BY version").fetchall()
        assert names == [(m.version, m.name) for m in discover()]
    with DuckDBManager(path) as again:  # re-opening applies nothing
        assert again.applied_migrations == []
        assert again.schema_version() == LATEST


def test_migration_files_are_well_named():
    files = sql_files("migrations")
    assert files and files[0].name == "v001_initial_schema.sql"
    assert [m.path for m in discover()] == sorted(files, key=lambda p: int(p.name[1:4]))


V001_TABLES = ("runs", "laps", "recording_data", "raw_activities", "quarantine", "sync_state")


def _v001_database_with_data(path: Path) -> dict:
    """A v001 database holding what the repository writes (valid, detailed, quarantined, deleted rows and a
    cursor). The rows are written by today's repository into a scratch database, then copied column by column
    into a file migrated to v001 only: today's repository needs today's schema."""
    with DuckDBManager() as scratch:
        repo = RunRepository(scratch.connection)
        repo.upsert_activities([payloads.gps_run(1), payloads.manual_run(2), payloads.zero_duration_run(3)])
        repo.upsert_activities([payloads.laps_and_pauses_run(4)], payload_kind="detail")
        repo.upsert_activities([{"activityId": 5, "distance": -1}])
        repo.set_sync_state({"summaries.updated_since": "1700000000"})
        repo.mark_deleted([2])
        with DuckDBManager(path, apply_migrations=False) as manager:
            assert migrate(manager.connection, target_version=1) == [1]
        literal = str(path).replace("'", "''")  # ATTACH takes no parameters
        scratch.connection.execute(f"ATTACH '{literal}' AS old")
        for table in V001_TABLES:
            names = [row[0] for row in scratch.connection.execute(f"DESCRIBE old.{table}").fetchall()]
            columns = ", ".join(f'"{name}"' for name in names)
            scratch.connection.execute(f"INSERT INTO old.{table} ({columns}) SELECT {columns} FROM {table}")
        scratch.connection.execute("DETACH old")
    with DuckDBManager(path, apply_migrations=False) as manager:
        assert manager.schema_version() == 1
        return snapshot(manager.connection)


def _v001_columns(rows: list[tuple], added: int) -> list[tuple]:
    """``runs`` rows without the ``added`` columns later migrations appended."""
    return [row[: len(row) - added] for row in rows]


RUNS_COLUMNS_ADDED_SINCE_V001 = 2  # v003: deleted_as_of_utc; v004: data_source


def test_upgrade_from_v001_keeps_the_data(tmp_path: Path):
    path = tmp_path / "old.duckdb"
    before = _v001_database_with_data(path)
    assert sum(len(rows) for rows in before.values()) > 8
    with DuckDBManager(path) as manager:
        assert manager.applied_migrations == [m.version for m in discover() if m.version > 1]
        assert manager.schema_version() == LATEST
        after = snapshot(manager.connection)
        assert {
            **after,
            "runs": _v001_columns(after["runs"], RUNS_COLUMNS_ADDED_SINCE_V001),
            "raw_activities": _v001_columns(after["raw_activities"], 1),  # v004: payload_sha256
        } == before
        # the backfilled hash is the payload's, so the next identical payload is recognised as already stored
        assert all(row[-1] == hashlib.sha256(row[2].encode()).hexdigest() for row in after["raw_activities"])
        assert all(row[-2] is None for row in after["runs"])  # deleted_as_of_utc: unknown for old deletions
        assert all(row[-1] == "smashrun" for row in after["runs"])  # data_source: every old run is SmashRun's
        # and the upgraded database keeps working
        RunRepository(manager.connection).upsert_activities([payloads.treadmill_run(6)])


def test_upgrade_through_a_data_migration(tmp_path: Path):
    """A later migration that adds and backfills a column runs over existing rows; nothing else changes."""
    path = tmp_path / "old.duckdb"
    before = _v001_database_with_data(path)
    extra = tmp_path / "v900_add_distance_miles.sql"
    extra.write_text(
        "ALTER TABLE runs ADD COLUMN distance_miles DOUBLE;\nUPDATE runs SET distance_miles = distance_km / 1.609344;\n"
    )
    migrations = discover([*sql_files("migrations"), extra])
    connection = duckdb.connect(str(path))
    try:
        applied = migrate(connection, migrations=migrations)
        assert applied[-1] == 900 and applied_versions(connection)[-1] == 900
        miles = connection.execute("SELECT activity_id, distance_miles FROM runs ORDER BY 1").fetchall()
        assert miles[0] == ("1", pytest.approx(9.74928 / 1.609344))
        after = snapshot(connection)
        assert after["laps"] == before["laps"] and after["recording_data"] == before["recording_data"]
        assert _v001_columns(after["raw_activities"], 1) == before["raw_activities"]  # v004: payload_sha256
        assert after["quarantine"] == before["quarantine"]
        # same rows, plus the columns added since v001 and the new one
        assert _v001_columns(after["runs"], RUNS_COLUMNS_ADDED_SINCE_V001 + 1) == before["runs"]
        assert migrate(connection, migrations=migrations) == []
    finally:
        connection.close()


def test_failing_migration_rolls_back_and_keeps_the_version(tmp_path: Path):
    path = tmp_path / "old.duckdb"
    before = _v001_database_with_data(path)
    broken = tmp_path / "v901_broken.sql"
    broken.write_text("ALTER TABLE runs ADD COLUMN half_done INTEGER;\nSELECT * FROM no_such_table;\n")
    connection = duckdb.connect(str(path))
    try:
        migrations = [m for m in discover() if m.version == 1] + discover([broken])
        with pytest.raises(duckdb.Error):
            migrate(connection, migrations=migrations)
        assert applied_versions(connection) == [1]
        columns = {row[0] for row in connection.execute("DESCRIBE runs").fetchall()}
        assert "half_done" not in columns
        assert snapshot(connection) == before
    finally:
        connection.close()


def test_badly_named_or_duplicate_migrations_are_rejected(tmp_path: Path):
    bad = tmp_path / "2_add_x.sql"
    bad.write_text("SELECT 1;")
    with pytest.raises(MyRunStreakError, match="vNNN_name"):
        discover([bad])
    a, b = tmp_path / "v005_a.sql", tmp_path / "v005_b.sql"
    a.write_text("SELECT 1;")
    b.write_text("SELECT 1;")
    with pytest.raises(MyRunStreakError, match="share a version"):
        discover([a, b])


def test_database_newer_than_the_code_is_refused(tmp_path: Path):
    path = tmp_path / "future.duckdb"
    with DuckDBManager(path) as manager:
        manager.connection.execute("INSERT INTO schema_version (version, name) VALUES (999, 'from_the_future')")
    with pytest.raises(MyRunStreakError, match="newer than this code"):
        DuckDBManager(path)
    with DuckDBManager(path, read_only=True) as reader:  # reading is still allowed
        assert reader.schema_version() == 999
