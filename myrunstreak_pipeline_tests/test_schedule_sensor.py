"""The daily schedule and the SmashRun change sensor, evaluated with Dagster's test contexts against the
sandbox and a real database: new run, edited old run, deleted run → exactly their partitions; nothing → skip."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg

from myrunstreak_pipeline.definitions import build_defs
from myrunstreak_pipeline.defs.resources import DuckDBStorage, SmashRunResource
from myrunstreak_pipeline_tests.fixtures.dagster import SANDBOX_TOKEN


def _tick(defs, schedule, when: dt.datetime):
    context = dg.build_schedule_context(scheduled_execution_time=when, repository_def=defs.get_repository_def())
    return schedule.evaluate_tick(context)


def test_schedule_targets_current_year_and_previous_in_early_january(monkeypatch):
    monkeypatch.setenv("MYRUNSTREAK_SCHEDULE_TIME", "06:30")
    monkeypatch.setenv("MYRUNSTREAK_TIMEZONE", "America/New_York")
    monkeypatch.setenv("MYRUNSTREAK_HISTORY_START", "2015-03-01")
    defs = build_defs()
    schedule = defs.resolve_schedule_def("daily_sync")
    assert schedule.cron_schedule == "30 6 * * *"
    assert schedule.execution_timezone == "America/New_York"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING

    zone = ZoneInfo("America/New_York")
    [request] = _tick(defs, schedule, dt.datetime(2024, 3, 5, 6, 30, tzinfo=zone)).run_requests
    assert request.partition_key == "2024"
    [request] = _tick(defs, schedule, dt.datetime(2024, 1, 3, 6, 30, tzinfo=zone)).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "2023"
    assert request.tags["dagster/asset_partition_range_end"] == "2024"
    # the first partition year has no previous year to reload
    [request] = _tick(defs, schedule, dt.datetime(2015, 1, 2, 6, 30, tzinfo=zone)).run_requests
    assert request.partition_key == "2015"


def _sensor_tick(pipeline, cursor):
    defs = pipeline.defs()
    sensor = defs.resolve_sensor_def("smashrun_changes")
    resources = {
        "smashrun": SmashRunResource(api_base=pipeline.sandbox.api_base, access_token=SANDBOX_TOKEN),
        "storage": DuckDBStorage(database=str(pipeline.db_path)),
    }
    context = dg.build_sensor_context(instance=pipeline.instance, cursor=cursor, definitions=defs, resources=resources)
    before = len(pipeline.sandbox.requests)
    result = sensor.evaluate_tick(context)
    api_calls = [r for r in pipeline.sandbox.requests[before:] if "/v1/" in r.path]
    assert len(api_calls) <= 2  # never hammers the API
    return result


def test_sensor_requests_exactly_the_changed_partitions(pipeline):
    sensor = pipeline.defs().resolve_sensor_def("smashrun_changes")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds >= 300

    first = _sensor_tick(pipeline, None)  # no database yet: nothing to compare against
    assert not first.run_requests and "no sync cursor" in first.skip_message

    assert pipeline.materialize_full().success
    quiet = _sensor_tick(pipeline, None)  # seeded from the database cursor; nothing changed
    assert not quiet.run_requests
    assert "nothing new" in quiet.skip_message
    cursor = quiet.cursor

    athlete = pipeline.sandbox.athlete
    visible = sorted(athlete.visible_activities, key=lambda a: a["startDateTimeLocal"])
    old, older = visible[40], visible[5]
    current_year = str(dt.date.today().year)
    assert old["startDateTimeLocal"][:4] != current_year

    # a new run today, an edited old run → two partitions
    new_run = {k: v for k, v in visible[-1].items() if k not in ("activityId", "dateCreatedUTC", "dateUpdatedUTC")}
    new_run["startDateTimeLocal"] = dt.datetime.now().astimezone().replace(microsecond=0, second=0).isoformat()
    athlete.add_activity(new_run)
    athlete.edit_activity(old["activityId"], distance=old["distance"] + 1.5)
    changed = _sensor_tick(pipeline, cursor)
    keys = sorted(request.partition_key for request in changed.run_requests)
    assert keys == sorted({current_year, old["startDateTimeLocal"][:4]})
    again = _sensor_tick(pipeline, changed.cursor)  # the same changes again: same run keys (deduped by Dagster)
    assert {r.run_key for r in again.run_requests} == {r.run_key for r in changed.run_requests}

    # load them; afterwards the sensor is quiet again
    for key in keys:
        assert pipeline.materialize_partition(key).success
    assert not _sensor_tick(pipeline, changed.cursor).run_requests

    # a deleted run → its partition, caught by id reconciliation
    athlete.delete_activity(older["activityId"])
    deleted = _sensor_tick(pipeline, changed.cursor)
    [request] = deleted.run_requests
    assert request.partition_key == older["startDateTimeLocal"][:4]
    assert "deleted#" in request.run_key
    assert pipeline.materialize_partition(request.partition_key).success
    with pipeline.connect() as con:
        assert con.execute("SELECT deleted FROM runs WHERE activity_id = ?", [str(older["activityId"])]).fetchone() == (
            True,
        )
    assert json.loads(deleted.cursor)["updated_since"] >= json.loads(cursor)["updated_since"]


def test_sensor_skips_reconciliation_while_a_writer_holds_the_database(pipeline):
    assert pipeline.materialize_full().success
    from myrunstreak_pipeline.duckdb_ops import DuckDBManager

    pipeline.sandbox.athlete.edit_activity(pipeline.sandbox.athlete.visible_activities[3]["activityId"], notes="edited")
    cursor = _sensor_tick(pipeline, None).cursor
    with DuckDBManager(str(pipeline.db_path)):  # a writer in this process: read-only opens are refused
        result = _sensor_tick(pipeline, cursor)
    assert result.run_requests  # the edit is still seen (counted as changed without the stored copy)
    assert not any("deleted#" in r.run_key for r in result.run_requests)
