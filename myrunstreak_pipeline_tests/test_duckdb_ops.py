"""DuckDBManager and RunRepository against real DuckDB files."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository, UpsertResult, load_httpfs
from myrunstreak_pipeline.duckdb_ops import manager as manager_module
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.models import Activity
from myrunstreak_pipeline_tests.fixtures import payloads

AUDIT_COLUMNS = {"first_loaded_at", "last_loaded_at"}


def snapshot(connection: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every data table's rows, sorted, without audit timestamps."""
    queries = {
        "runs": f"SELECT * EXCLUDE ({', '.join(sorted(AUDIT_COLUMNS))}) FROM runs ORDER BY activity_id",
        "laps": "SELECT * FROM laps ORDER BY ALL",
        "recording_data": "SELECT * FROM recording_data ORDER BY activity_id",
        "raw_activities": "SELECT * EXCLUDE (fetched_at) FROM raw_activities ORDER BY activity_id, payload_kind",
        "quarantine": "SELECT activity_id, payload_kind, payload, reason FROM quarantine ORDER BY ALL",
        "sync_state": "SELECT key, value FROM sync_state ORDER BY key",
    }
    return {name: connection.execute(sql).fetchall() for name, sql in queries.items()}


def day_run(day: str, distance: float = 5.0, activity_id: int | None = None, **overrides) -> dict:
    return payloads.gps_run(
        activity_id, start=f"{day}T07:00:00-05:00", distance=distance, duration=distance * 330, **overrides
    )


# --- DuckDBManager ------------------------------------------------------------------------------------------
def test_manager_creates_parent_dirs_migrates_and_leaves_no_wal(tmp_path: Path):
    path = tmp_path / "a" / "b" / "runs.duckdb"
    with DuckDBManager(path) as manager:
        assert manager.schema_version() >= 1
        RunRepository(manager.connection).upsert_activities([payloads.gps_run()])
    assert path.is_file()
    assert not Path(f"{path}.wal").exists()
    with DuckDBManager(path, read_only=True) as reader:
        assert RunRepository(reader.connection).get_total_runs() == 1
        with pytest.raises(duckdb.Error):
            reader.connection.execute("DELETE FROM runs")


def test_manager_in_memory_default():
    with DuckDBManager() as manager:
        assert manager.in_memory and manager.schema_version() >= 1
    assert manager.closed
    with pytest.raises(MyRunStreakError):
        _ = manager.connection


def test_s3_uri_points_to_the_storage_layer():
    with pytest.raises(MyRunStreakError) as caught:
        DuckDBManager("s3://bucket/runs.duckdb")
    assert "storage layer" in str(caught.value) + (caught.value.hint or "")


def test_other_schemes_and_missing_read_only_file_are_clear_errors(tmp_path: Path):
    with pytest.raises(MyRunStreakError):
        DuckDBManager("https://example.com/runs.duckdb")
    with pytest.raises(MyRunStreakError, match="not found"):
        DuckDBManager(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


def test_transaction_rolls_back_on_error(duckdb_manager: DuckDBManager):
    repo = RunRepository(duckdb_manager.connection)
    with pytest.raises(RuntimeError), duckdb_manager.transaction():
        duckdb_manager.connection.execute("INSERT INTO sync_state VALUES ('k', 'v', now()::TIMESTAMP)")
        raise RuntimeError("boom")
    assert repo.get_sync_state("k") is None


def test_failed_batch_writes_nothing(run_repository: RunRepository, monkeypatch):
    from myrunstreak_pipeline.duckdb_ops import staging

    def broken(*args, **kwargs):
        raise RuntimeError("staging failed")

    monkeypatch.setattr(staging, "laps_table", broken)
    with pytest.raises(RuntimeError):
        run_repository.upsert_activities([payloads.detail_run(), {"bad": 1}], payload_kind="detail")
    assert set(run_repository.table_counts().values()) == {0}


def test_failure_mid_write_rolls_back_the_whole_batch(run_repository: RunRepository, monkeypatch):
    # the quarantine, raw and runs statements have already run when the laps/recordings step fails
    def broken(self, staged):
        raise RuntimeError("details failed")

    monkeypatch.setattr(RunRepository, "_replace_details", broken)
    with pytest.raises(RuntimeError, match="details failed"):
        run_repository.upsert_activities([payloads.detail_run(), {"bad": 1}], payload_kind="detail")
    assert set(run_repository.table_counts().values()) == {0}


def test_views_refreshed_in_name_order_and_skipped_read_only(tmp_path: Path, monkeypatch):
    views = tmp_path / "views"
    views.mkdir()
    (views / "b_second.sql").write_text("CREATE OR REPLACE VIEW second_view AS SELECT count(*) AS n FROM first_view;")
    (views / "a_first.sql").write_text("CREATE OR REPLACE VIEW first_view AS SELECT * FROM runs;")
    real_sql_files = manager_module.sql_files
    monkeypatch.setattr(
        manager_module,
        "sql_files",
        lambda folder: sorted(views.glob("*.sql")) if folder == "views" else real_sql_files(folder),
    )
    path = tmp_path / "v.duckdb"
    with DuckDBManager(path) as manager:
        assert manager.connection.execute("SELECT n FROM second_view").fetchone() == (0,)
        assert manager.refresh_views() == ["a_first.sql", "b_second.sql"]
    (views / "c_broken.sql").write_text("CREATE OR REPLACE VIEW broken AS SELECT * FROM no_such_table;")
    with DuckDBManager(path, read_only=True) as reader:  # read-only: no refresh, so the broken file is not run
        assert reader.connection.execute("SELECT n FROM second_view").fetchone() == (0,)


def test_empty_views_folder_is_fine(tmp_path: Path, monkeypatch):
    real_sql_files = manager_module.sql_files
    monkeypatch.setattr(manager_module, "sql_files", lambda folder: [] if folder == "views" else real_sql_files(folder))
    with DuckDBManager(tmp_path / "e.duckdb") as manager:
        assert manager.refresh_views() == []


def test_load_httpfs_offline():
    connection = duckdb.connect()
    load_httpfs(connection)
    loaded = connection.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'").fetchone()
    assert loaded == (True,)


# --- upserts ------------------------------------------------------------------------------------------------
def test_upsert_stores_derived_columns(run_repository: RunRepository):
    result = run_repository.upsert_activities([payloads.gps_run(31000001, start="2022-11-09T23:30:00-04:00")])
    assert result == UpsertResult(loaded=1)
    row = run_repository.get_run_by_id(31000001)
    assert row["start_date"] == date(2022, 11, 9)
    assert row["start_date_time_local"] == datetime(2022, 11, 9, 23, 30)
    assert row["start_date_time_local_raw"] == "2022-11-09T23:30:00-04:00"
    assert row["utc_offset_minutes"] == -240
    assert row["start_time_utc"] == datetime(2022, 11, 10, 3, 30)
    assert (row["year"], row["month"], row["day"], row["day_of_week"]) == (2022, 11, 9, 3)
    assert (row["iso_year"], row["iso_week"]) == (2022, 45)
    assert row["pace_min_per_km"] == pytest.approx(2836.895 / 60 / 9.74928)
    assert row["speed_kph"] == pytest.approx(9.74928 / 2836.895 * 3600)
    assert row["weather_type"] == "partlycloudy" and row["has_details"] is True and row["deleted"] is False


def test_zero_duration_and_manual_runs_load(run_repository: RunRepository):
    run_repository.upsert_activities([payloads.zero_duration_run(5), payloads.manual_run(6)])
    row = run_repository.get_run_by_id(5)
    assert row["duration_seconds"] == 0 and row["pace_min_per_km"] is None and row["speed_kph"] is None
    assert run_repository.get_run_by_id("6")["calories"] is None


def test_same_batch_twice_gives_the_same_rows(duckdb_manager: DuckDBManager):
    repo = RunRepository(duckdb_manager.connection)
    batch = [payloads.detail_run(1), payloads.laps_and_pauses_run(2), {"activityId": 3, "distance": "x"}]
    first = repo.upsert_activities(batch, payload_kind="detail")
    before = snapshot(duckdb_manager.connection)
    second = repo.upsert_activities(batch, payload_kind="detail")
    assert first == second
    assert snapshot(duckdb_manager.connection) == before
    assert repo.table_counts()["laps"] == 8 and repo.table_counts()["quarantine"] == 1


def test_first_loaded_at_is_kept_on_update(run_repository: RunRepository):
    run_repository.upsert_activities([payloads.gps_run(9)])
    first = run_repository.get_run_by_id(9)
    run_repository.upsert_activities([payloads.gps_run(9, notes="edited", updated="2022-11-10T00:00:00")])
    second = run_repository.get_run_by_id(9)
    assert second["notes"] == "edited"
    assert second["first_loaded_at"] == first["first_loaded_at"]
    assert second["last_loaded_at"] >= first["last_loaded_at"]


def test_quarantine_keeps_payload_and_reason_while_valid_rows_load(duckdb_manager: DuckDBManager):
    repo = RunRepository(duckdb_manager.connection)
    secret = "private note 0815"
    bad = payloads.gps_run(77, humidity=140, notes=secret)
    result = repo.upsert_activities([payloads.gps_run(1), bad, "not an object", payloads.treadmill_run(2)])
    assert result.loaded == 2 and result.quarantined == 2
    assert result.quarantine_reasons[0] == ("77", "humidity: Input should be less than or equal to 100")
    assert result.quarantine_reasons[1] == (None, "payload: must be a JSON object")
    rows = duckdb_manager.connection.execute(
        "SELECT activity_id, payload_kind, payload, reason FROM quarantine ORDER BY activity_id NULLS LAST"
    ).fetchall()
    assert rows[0][0] == "77" and rows[0][1] == "summary"
    assert json.loads(rows[0][2]) == bad  # the payload exactly as received
    assert secret not in rows[0][3]  # the reason never echoes input
    assert json.loads(rows[1][2]) == "not an object"
    assert repo.stored_activity_ids() == {"1", "2"}


def test_unserialisable_payload_is_quarantined_not_crashing(run_repository: RunRepository):
    result = run_repository.upsert_activities([payloads.gps_run(1, notes="bad \ud800 text"), payloads.gps_run(2)])
    assert result.loaded == 1 and result.quarantined == 1 and result.quarantine_reasons[0][0] == "1"


def test_dedupe_latest_date_updated_wins_in_any_order(run_repository: RunRepository):
    old = payloads.gps_run(5, notes="old", updated="2022-11-09T15:00:00")
    new = payloads.gps_run(5, notes="new", updated="2022-11-10T08:00:00.5")
    for batch in ([old, new], [new, old]):
        result = run_repository.upsert_activities(batch)
        assert result.loaded == 1 and result.duplicates == 1
        assert run_repository.get_run_by_id(5)["notes"] == "new"
    tie = payloads.gps_run(5, notes="tie, later in batch", updated="2022-11-10T08:00:00.5")
    run_repository.upsert_activities([new, tie])  # across batches, an equal stamp is the stored version: no-op
    assert run_repository.get_run_by_id(5)["notes"] == "new"
    first = payloads.gps_run(6, notes="first", updated="2022-11-10T08:00:00.5")
    run_repository.upsert_activities([first, {**first, "notes": "tie, later in batch"}])  # within a batch
    assert run_repository.get_run_by_id(6)["notes"] == "tie, later in batch"
    assert run_repository.table_counts()["raw_activities"] == 2


def test_summary_upsert_keeps_laps_recordings_and_extended_fields(duckdb_manager: DuckDBManager):
    repo = RunRepository(duckdb_manager.connection)
    repo.upsert_activities([payloads.laps_and_pauses_run(42)], payload_kind="detail")
    details = snapshot(duckdb_manager.connection)
    renamed = payloads.gps_run(42, notes="renamed", updated="2022-11-10T00:00:00")  # no extended keys, no recordings
    repo.upsert_activities([renamed])
    after = snapshot(duckdb_manager.connection)
    assert after["laps"] == details["laps"] and len(after["laps"]) == 5
    assert after["recording_data"] == details["recording_data"]
    row = repo.get_run_by_id(42)
    assert row["notes"] == "renamed" and row["elevation_gain_m"] == 87 and row["city"] == "Erie"
    kinds = duckdb_manager.connection.execute("SELECT payload_kind FROM raw_activities ORDER BY 1").fetchall()
    assert kinds == [("detail",), ("summary",)]


def test_detail_upsert_replaces_laps_and_recordings(duckdb_manager: DuckDBManager):
    repo = RunRepository(duckdb_manager.connection)
    repo.upsert_activities([payloads.laps_and_pauses_run(42)], payload_kind="detail")
    shorter = payloads.detail_run(42, samples=4)
    shorter["laps"] = [{"lapType": "general", "endTime": 2836.895, "endDistance": 9.74928}]
    repo.upsert_activities([shorter], payload_kind="detail")
    laps = duckdb_manager.connection.execute("SELECT lap_number, lap_type FROM laps").fetchall()
    assert laps == [(1, "general")]
    keys, values, pauses, count = duckdb_manager.connection.execute(
        "SELECT recording_keys, recording_values, pause_indexes, sample_count FROM recording_data"
    ).fetchone()
    assert count == 4 and len(values[0]) == 4 and pauses == [3]
    assert values[keys.index("latitude")][0] is None  # the -1 no-fix sentinel stored as NULL
    no_recording = payloads.gps_run(42, hasDetails=0)
    repo.upsert_activities([no_recording], payload_kind="detail")
    assert repo.table_counts()["recording_data"] == 0 and repo.table_counts()["laps"] == 0


def test_models_and_dicts_both_accepted(run_repository: RunRepository):
    model = Activity.model_validate(payloads.gps_run(8, start="2022-11-10T00:15:00+13:00"))
    result = run_repository.upsert_activities([model, payloads.treadmill_run(9)])
    assert result.loaded == 2
    row = run_repository.get_run_by_id(8)
    assert row["start_date"] == date(2022, 11, 10) and row["start_date_time_local_raw"] == "2022-11-10T00:15:00+13:00"


def test_unknown_enum_values_are_reported_and_stored(run_repository: RunRepository):
    result = run_repository.upsert_activities([payloads.gps_run(1, weatherType="sandstorm")])
    assert result.unknown_enum_values == {"weather_type": ["sandstorm"]}
    assert run_repository.get_run_by_id(1)["weather_type"] == "sandstorm"


# --- replace_window -----------------------------------------------------------------------------------------
def test_replace_window_flags_deleted_writes_cursor_and_is_idempotent(duckdb_manager: DuckDBManager):
    repo = RunRepository(duckdb_manager.connection)
    repo.upsert_activities(
        [
            day_run("2023-12-31", activity_id=1),  # outside the window: untouched
            day_run("2024-01-01", activity_id=2),
            day_run("2024-06-30", activity_id=3),  # deleted upstream
            day_run("2024-12-31", activity_id=4),
            day_run("2025-01-01", activity_id=5),  # outside (end is exclusive)
        ]
    )
    listing = [
        day_run("2024-01-01", activity_id=2),
        day_run("2024-12-31", activity_id=4, notes="edited"),
        day_run("2024-03-03", activity_id=6),
    ]
    listed_at = datetime(2025, 1, 2)  # naive: UTC
    cursor = {"summaries.2024": "1700000000"}
    result = repo.replace_window(date(2024, 1, 1), date(2025, 1, 1), listing, cursor=cursor, listed_at=listed_at)
    assert result.loaded == 3 and result.marked_deleted == 1
    assert repo.stored_activity_ids() == {"1", "2", "4", "5", "6"}
    assert repo.stored_activity_ids(include_deleted=True) == {"1", "2", "3", "4", "5", "6"}
    assert repo.get_sync_state("summaries.2024") == "1700000000"
    before = snapshot(duckdb_manager.connection)
    again = repo.replace_window(date(2024, 1, 1), date(2025, 1, 1), listing, cursor=cursor, listed_at=listed_at)
    assert again.marked_deleted == 0
    assert snapshot(duckdb_manager.connection) == before


def test_replace_window_keeps_runs_whose_new_payload_is_invalid(run_repository: RunRepository):
    run_repository.upsert_activities([day_run("2024-05-05", activity_id=10)])
    broken = day_run("2024-05-05", activity_id=10, humidity=500)
    result = run_repository.replace_window(date(2024, 5, 1), date(2024, 6, 1), [broken])
    assert result.quarantined == 1 and result.marked_deleted == 0
    assert run_repository.stored_activity_ids() == {"10"}


def test_reupserted_run_is_undeleted_and_streak_follows(run_repository: RunRepository):
    run_repository.upsert_activities([day_run("2024-05-04", activity_id=1), day_run("2024-05-05", activity_id=2)])
    assert run_repository.get_current_streak(date(2024, 5, 5))["days"] == 2
    assert run_repository.mark_deleted([1, "404"], as_of=datetime(2024, 5, 6)) == 1
    assert run_repository.get_current_streak(date(2024, 5, 5))["days"] == 1
    assert run_repository.get_run_by_id(1)["deleted"] is True
    run_repository.upsert_run(day_run("2024-05-04", activity_id=1, updated="2024-05-07T00:00:00"))  # undelete bumps
    assert run_repository.get_run_by_id(1)["deleted"] is False
    assert run_repository.get_current_streak(date(2024, 5, 5))["days"] == 2


# --- queries ------------------------------------------------------------------------------------------------
def test_ids_needing_details_queue(run_repository: RunRepository):
    run_repository.upsert_activities(
        [
            day_run("2024-01-01", activity_id=1),
            day_run("2024-01-02", activity_id=2),
            day_run("2024-01-03", activity_id=3, hasDetails=0),
            day_run("2024-01-04", activity_id=4),
        ]
    )
    run_repository.mark_deleted([4])
    assert run_repository.ids_needing_details(10) == ["2", "1"]  # newest first, no details / deleted excluded
    assert run_repository.ids_needing_details(1) == ["2"]
    assert run_repository.count_needing_details() == 2  # the whole queue, whatever the limit
    run_repository.upsert_activities(
        [payloads.detail_run(2, startDateTimeLocal="2024-01-02T07:00:00-05:00")], payload_kind="detail"
    )
    assert run_repository.ids_needing_details(10) == ["1"]
    assert run_repository.count_needing_details() == 1
    edited = day_run("2024-01-02", activity_id=2, updated="2030-01-01T00:00:00")
    run_repository.upsert_activities([edited])  # the summary is newer than the stored detail
    assert run_repository.ids_needing_details(10) == ["2", "1"]


def test_current_streak_rules(run_repository: RunRepository):
    half_mile = 0.804672
    run_repository.upsert_activities(
        [
            day_run("2024-02-27", distance=1.609),  # 1,609 m: does not qualify (no rounding up)
            day_run("2024-02-28", distance=half_mile),
            day_run("2024-02-28", distance=half_mile),  # two half miles: qualifies (sum mode)
            day_run("2024-02-29", distance=5.0),
            day_run("2024-03-01", distance=1.609344),  # exactly one mile
            day_run("2024-03-09", distance=5.0),  # in the future as of 2024-03-02: ignored
        ]
    )
    assert run_repository.get_current_streak(date(2024, 3, 1)) == {
        "days": 3,
        "start": date(2024, 2, 28),
        "end": date(2024, 3, 1),
        "status": "active",
    }
    assert run_repository.get_current_streak(date(2024, 3, 2)) == {
        "days": 3,
        "start": date(2024, 2, 28),
        "end": date(2024, 3, 1),
        "status": "at_risk",
    }
    assert run_repository.get_current_streak(date(2024, 3, 3)) == {
        "days": 0,
        "start": None,
        "end": None,
        "status": "broken",
    }
    assert run_repository.get_current_streak(date(2024, 3, 1), min_km=0.5)["days"] == 4


def test_current_streak_day_total_is_exact(run_repository: RunRepository):
    # 0.3 + 0.3 + 0.3 + 0.709344 km is exactly one mile, but a float sum lands at 1.6093439999999999
    run_repository.upsert_activities([day_run("2024-04-01", distance=km) for km in (0.3, 0.3, 0.3, 0.709344)])
    assert run_repository.get_current_streak(date(2024, 4, 1)) == {
        "days": 1,
        "start": date(2024, 4, 1),
        "end": date(2024, 4, 1),
        "status": "active",
    }


def test_current_streak_has_no_365_day_cap(run_repository: RunRepository):
    history = payloads.synthetic_history(800, first_day=date(2020, 1, 1))
    run_repository.upsert_activities(history)
    last = max(Activity.model_validate(p).local_date for p in history)
    streak = run_repository.get_current_streak(last)
    qualifying = {}
    for p in history:
        activity = Activity.model_validate(p)
        qualifying[activity.local_date] = qualifying.get(activity.local_date, 0) + activity.distance_km
    assert all(total >= 1.609344 for total in qualifying.values())
    assert streak["status"] == "active" and streak["days"] == len(qualifying) > 365


def test_seed_methods(run_repository: RunRepository):
    run_repository.insert_run(day_run("2024-01-01", activity_id=1))
    with pytest.raises(MyRunStreakError, match="already stored"):
        run_repository.insert_run(day_run("2024-01-01", activity_id=1))
    with pytest.raises(MyRunStreakError, match="not stored"):
        run_repository.update_run(day_run("2024-01-05", activity_id=2))
    run_repository.update_run(day_run("2024-01-01", activity_id=1, notes="updated", updated="2022-11-10T00:00:00"))
    run_repository.upsert_run(Activity.model_validate(day_run("2024-01-03", activity_id=3)))
    assert run_repository.get_run_by_id("1")["notes"] == "updated"
    assert run_repository.get_run_by_id("nope") is None
    assert [r["activity_id"] for r in run_repository.get_runs_by_date_range(date(2024, 1, 1), date(2024, 1, 3))] == [
        "1",
        "3",
    ]
    assert run_repository.get_runs_by_date_range(date(2024, 1, 2), date(2024, 1, 2)) == []
    assert run_repository.get_latest_run()["activity_id"] == "3"
    assert run_repository.get_total_runs() == 2
    assert run_repository.activity_dates(["1", 3, "missing"]) == {"1": date(2024, 1, 1), "3": date(2024, 1, 3)}


def test_sync_state_and_counts(run_repository: RunRepository):
    assert run_repository.get_sync_state("k") is None
    run_repository.set_sync_state({"k": "1", "other": "x"})
    run_repository.set_sync_state({"k": "2"})
    assert run_repository.get_sync_state("k") == "2" and run_repository.get_sync_state("other") == "x"
    assert run_repository.table_counts() == {
        "runs": 0,
        "live_runs": 0,
        "laps": 0,
        "recording_data": 0,
        "raw_activities": 0,
        "quarantine": 0,
        "sync_state": 2,
    }


def test_bulk_load_of_thousands_is_one_fast_call(run_repository: RunRepository):
    history = payloads.synthetic_history(3000)
    result = run_repository.upsert_activities(history)
    assert result.loaded == 3000 and result.quarantined == 0
    assert run_repository.upsert_activities(history).loaded == 3000
    counts = run_repository.table_counts()
    assert counts["runs"] == counts["raw_activities"] == 3000


def test_repository_calls_join_an_outer_transaction(duckdb_manager: DuckDBManager):
    repo = RunRepository(duckdb_manager.connection)
    with pytest.raises(RuntimeError), duckdb_manager.transaction():
        repo.upsert_activities([payloads.gps_run(1)])
        repo.set_sync_state({"cursor": "1"})
        raise RuntimeError("the caller's step failed")
    assert repo.get_total_runs() == 0 and repo.get_sync_state("cursor") is None
    with duckdb_manager.transaction():
        repo.upsert_activities([payloads.gps_run(1)])
        repo.set_sync_state({"cursor": "1"})
    assert repo.get_total_runs() == 1 and repo.get_sync_state("cursor") == "1"
