"""The ``activity_files`` asset and the ``activity_files_arrived`` sensor on a real Dagster instance: a drop folder
and an ``s3://`` prefix (moto's server) of real activity files; a re-run is a no-op; the sensor asks for a run
only when the listing changed; the analytics follow the imported runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from myrunstreak_pipeline.definitions import build_defs
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline_tests.fixtures.dagster import table_snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "activity_files"
GOOD_RUNS = ["fit/run_fr920xt_2h24_pauses_laps.fit", "gpx/run_garmin_connect_hr_1h32.gpx", "tcx/run_fr410_3laps_hr.tcx"]
CORRUPT = "fit/run_strava_android_app_CORRUPT.fit"
RIDE = "fit/ride_coros_pace2_3h32.fit"


@pytest.fixture
def drop(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    for name in ("MYRUNSTREAK_TIMEZONE", "MYRUNSTREAK_STREAK_SPORTS", "MYRUNSTREAK_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MYRUNSTREAK_DB", str(tmp_path / "runs.duckdb"))
    monkeypatch.setenv("MYRUNSTREAK_IMPORT_DIR", str(folder))
    monkeypatch.setenv("MYRUNSTREAK_HISTORY_START", "2010-01-01")
    monkeypatch.setenv("SMASHRUN_ACCESS_TOKEN", "unused-token")
    return folder


def _copy(folder: Path, *names: str) -> None:
    for name in names:
        shutil.copy(FIXTURES / name, folder / Path(name).name)


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        yield instance


def _import(instance) -> dg.ExecuteInProcessResult:
    job = build_defs(Settings.from_env()).resolve_job_def("import_files_job")
    return job.execute_in_process(instance=instance)


def _metadata(result: dg.ExecuteInProcessResult) -> dict:
    [materialization] = [
        m for m in result.asset_materializations_for_node("activity_files") if m.asset_key.path == ["activity_files"]
    ]
    return {key: value.value for key, value in materialization.metadata.items()}


def _tables(db: str) -> dict:
    with duckdb.connect(db, read_only=True) as con:
        return {
            table: table_snapshot(con, table, exclude=("last_loaded_at", "first_loaded_at"))
            for table in ("runs", "laps", "recording_data", "activity_files", "run_duplicates", "quarantine")
        }


def test_the_asset_imports_the_drop_folder_and_a_rerun_changes_nothing(drop, instance, tmp_path):
    _copy(drop, *GOOD_RUNS, CORRUPT, RIDE)
    result = _import(instance)
    assert result.success
    metadata = _metadata(result)
    assert metadata["files"] == 5 and metadata["imported"] == 4 and metadata["quarantined"] == 1
    assert metadata["not_counted"] == 1  # the ride
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "activity_files_readable"]
    assert not check.passed
    db = str(tmp_path / "runs.duckdb")
    with duckdb.connect(db, read_only=True) as con:
        sources = dict(con.execute("SELECT data_source, count(*) FROM runs GROUP BY ALL").fetchall())
        assert sources == {"fit": 2, "gpx": 1, "tcx": 1}
        # the analytics ran after the import and count the three runs, not the ride
        assert con.execute("SELECT sum(run_count) FROM daily_summary").fetchone()[0] == 3
        reasons = con.execute("SELECT reason FROM quarantine WHERE payload_kind = 'file'").fetchall()
        assert reasons and "corrupt FIT file" in reasons[0][0]
    before = _tables(db)
    again = _import(instance)
    assert again.success
    metadata = _metadata(again)
    assert metadata["imported"] == 0 and metadata["already_known"] == 4 and metadata["quarantined"] == 1
    assert _tables(db) == before


def test_the_sensor_asks_for_a_run_only_when_the_listing_changed(drop, instance, monkeypatch):
    def tick(cursor):
        defs = build_defs(Settings.from_env())
        sensor = defs.resolve_sensor_def("activity_files_arrived")
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        return sensor.evaluate_tick(context)

    empty = tick(None)
    assert not empty.run_requests and "no activity files" in empty.skip_message
    _copy(drop, GOOD_RUNS[0])
    first = tick(None)
    [request] = first.run_requests
    assert request.run_key.startswith("files:") and first.cursor
    same = tick(first.cursor)
    assert not same.run_requests and "no new files" in same.skip_message
    _copy(drop, GOOD_RUNS[1])
    second = tick(first.cursor)
    [request2] = second.run_requests
    assert request2.run_key != request.run_key and second.cursor != first.cursor
    monkeypatch.delenv("MYRUNSTREAK_IMPORT_DIR")
    off = tick(None)
    assert not off.run_requests and "not set" in off.skip_message
    assert build_defs(Settings.from_env()).resolve_sensor_def("activity_files_arrived").default_status == (
        dg.DefaultSensorStatus.STOPPED
    )


def test_the_asset_imports_an_s3_prefix(drop, instance, tmp_path, s3_client, s3_bucket, monkeypatch):
    for name in GOOD_RUNS[:2]:
        s3_client.put_object(Bucket=s3_bucket, Key=f"drop/{Path(name).name}", Body=(FIXTURES / name).read_bytes())
    s3_client.put_object(Bucket=s3_bucket, Key="dropbox/not-this.fit", Body=(FIXTURES / GOOD_RUNS[0]).read_bytes())
    monkeypatch.setenv("MYRUNSTREAK_IMPORT_DIR", f"s3://{s3_bucket}/drop/")
    result = _import(instance)
    assert result.success
    assert _metadata(result)["imported"] == 2
    with duckdb.connect(str(tmp_path / "runs.duckdb"), read_only=True) as con:
        names = sorted(row[0] for row in con.execute("SELECT file_name FROM activity_files").fetchall())
    assert names == [f"s3://{s3_bucket}/drop/{Path(name).name}" for name in sorted(GOOD_RUNS[:2])]


def test_without_an_import_dir_the_asset_is_a_quick_no_op(drop, instance, monkeypatch):
    monkeypatch.delenv("MYRUNSTREAK_IMPORT_DIR")
    result = _import(instance)
    assert result.success
    metadata = _metadata(result)
    assert metadata["import_dir"] == "(unset)" and metadata["files"] == 0
