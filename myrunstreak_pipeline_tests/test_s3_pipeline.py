"""MYRUNSTREAK_DB=s3://… through the whole pipeline: the asset graph against the sandbox, publishing to a moto S3
server (server mode, loopback), `myrunstreak streak` / `demo` / `run` with an S3 target, conflicts and failures."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from myrunstreak_pipeline.definitions import build_defs
from myrunstreak_pipeline.defs.resources import DuckDBStorage, SmashRunResource
from myrunstreak_pipeline.duckdb_ops import RunRepository
from myrunstreak_pipeline.duckdb_ops.s3 import S3DatabasePublisher, make_s3_client, parse_s3_uri
from myrunstreak_pipeline.settings import Settings, SettingsError
from myrunstreak_pipeline_tests.fixtures.dagster import SANDBOX_TOKEN
from myrunstreak_pipeline_tests.fixtures.s3 import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY

PUBLISHER_LOG = "myrunstreak_pipeline.duckdb_ops.s3.publisher"
RIVAL_KEY = "rival.marker"


@pytest.fixture
def s3_pipeline(pipeline, aws_env, s3_db_uri):
    """The sandbox-backed pipeline with MYRUNSTREAK_DB pointing at a fresh object in a fresh moto bucket."""
    pipeline.monkeypatch.setenv("MYRUNSTREAK_DB", s3_db_uri)
    pipeline.monkeypatch.setenv("MYRUNSTREAK_DETAIL_BUDGET", "5")
    pipeline.monkeypatch.setenv("MYRUNSTREAK_CALENDAR_DIR", str(pipeline.db_path.parent / "calendar"))
    pipeline.uri = s3_db_uri
    return pipeline


def _head(s3_client, uri: str) -> dict:
    location = parse_s3_uri(uri)
    return s3_client.head_object(Bucket=location.bucket, Key=location.key)


def _version_count(s3_client, uri: str) -> int:
    location = parse_s3_uri(uri)
    return len(s3_client.list_object_versions(Bucket=location.bucket, Prefix=location.key).get("Versions", []))


def _download(s3_client, uri: str, path: Path) -> Path:
    location = parse_s3_uri(uri)
    path.write_bytes(s3_client.get_object(Bucket=location.bucket, Key=location.key)["Body"].read())
    return path


def _query(s3_client, uri: str, tmp_path: Path, sql: str, params=None) -> list[tuple]:
    path = _download(s3_client, uri, tmp_path / f"inspect-{len(list(tmp_path.glob('inspect-*')))}.duckdb")
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _materializations(result) -> dict[str, dict]:
    return {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}


def _downloads(caplog) -> int:
    return sum(1 for r in caplog.records if r.name == PUBLISHER_LOG and r.getMessage().startswith("downloaded "))


def test_graph_publishes_to_s3_updates_with_if_match_and_streak_reads_it(
    s3_pipeline, s3_client, tmp_path, caplog, capsys
):
    caplog.set_level(logging.INFO, logger=PUBLISHER_LOG)
    first = s3_pipeline.materialize_full()
    assert first.success
    head = _head(s3_client, s3_pipeline.uri)
    assert head["Metadata"]["run-id"] == first.run_id  # stamped with the Dagster run id
    assert head["Metadata"]["generation"] == "3" == str(_version_count(s3_client, s3_pipeline.uri))  # 3 writing steps
    assert _downloads(caplog) == 0  # the first step found no object (IfNoneMatch), later steps reused its copy
    materialized = _materializations(first)
    assert set(materialized) == {k.to_user_string() for k in s3_pipeline.defs().resolve_all_asset_keys()}
    assert materialized["runs"]["s3_published"].value is True
    assert materialized["runs"]["s3_publish_attempts"].value == 1
    assert materialized["current_streak"]["s3_version_id"].value == head["VersionId"]  # the rollback target
    assert all(evaluation.passed for evaluation in first.get_asset_check_evaluations())
    visible = s3_pipeline.sandbox.athlete.visible_activities
    assert _query(s3_client, s3_pipeline.uri, tmp_path, "SELECT count(*) FROM runs WHERE NOT deleted") == [
        (len(visible),)
    ]

    # an edit upstream; the second run updates the object in place (IfMatch on the ETag it downloaded)
    edited = sorted(visible, key=lambda a: a["startDateTimeLocal"])[10]
    s3_pipeline.sandbox.athlete.edit_activity(edited["activityId"], distance=edited["distance"] + 3)
    caplog.clear()
    second = s3_pipeline.materialize_full()
    assert second.success
    after = _head(s3_client, s3_pipeline.uri)
    assert after["ETag"] != head["ETag"] and after["Metadata"]["run-id"] == second.run_id
    assert after["Metadata"]["generation"] == "6" == str(_version_count(s3_client, s3_pipeline.uri))
    assert _downloads(caplog) == 1  # downloaded once per run, not once per step
    [(distance,)] = _query(
        s3_client,
        s3_pipeline.uri,
        tmp_path,
        "SELECT distance_km FROM runs WHERE activity_id = ?",
        [str(edited["activityId"])],
    )
    assert abs(distance - (edited["distance"] + 3)) < 1e-9

    # `myrunstreak streak --db s3://… --json` reads the published object through httpfs (no download)
    from myrunstreak_pipeline import cli

    capsys.readouterr()
    assert cli.main(["streak", "--db", s3_pipeline.uri, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    card = _materializations(second)["current_streak"]
    assert report["current"]["days"] == card["current_streak_days"].value
    assert report["longest"]["days"] == card["longest_streak_days"].value > 0

    # the sensor's stored-cursor read goes through the S3 reader too: nothing changed since the last run
    sensor = s3_pipeline.defs().resolve_sensor_def("smashrun_changes")
    resources = {
        "smashrun": SmashRunResource(api_base=s3_pipeline.sandbox.api_base, access_token=SANDBOX_TOKEN),
        "storage": DuckDBStorage(database=s3_pipeline.uri),
    }
    tick = sensor.evaluate_tick(
        dg.build_sensor_context(instance=s3_pipeline.instance, definitions=s3_pipeline.defs(), resources=resources)
    )
    assert not tick.run_requests and "nothing new" in tick.skip_message

    # `myrunstreak run` (incremental): plans from the cursor stored in the object, then updates it
    s3_pipeline.monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert cli.main(["run"]) == 0
    keys = s3_pipeline.partition_keys()
    assert f"partitions {keys[-1]}..{keys[-1]} (1 of {len(keys)})" in capsys.readouterr().out
    assert _head(s3_client, s3_pipeline.uri)["Metadata"]["generation"] == "9"

    _assert_no_secrets(s3_pipeline.instance, [first.run_id, second.run_id])


def _assert_no_secrets(instance: dg.DagsterInstance, run_ids: list[str]) -> None:
    secrets = [SANDBOX_TOKEN, FAKE_SECRET_ACCESS_KEY, FAKE_ACCESS_KEY_ID]
    scanned = 0
    for folder, _dirs, files in os.walk(instance.root_directory):
        for name in files:
            data = Path(folder, name).read_bytes()
            scanned += len(data)
            for secret in secrets:
                assert secret.encode() not in data, f"a secret is stored in {Path(folder, name)}"
    assert scanned > 10_000  # the event log really was there
    for run_id in run_ids:
        for record in instance.get_records_for_run(run_id).records:
            text = str(record.event_log_entry)
            assert not any(secret in text for secret in secrets)


def _set_marker(value: str):
    def apply(path: Path) -> None:
        from myrunstreak_pipeline.duckdb_ops import DuckDBManager

        with DuckDBManager(path) as manager:
            RunRepository(manager.connection).set_sync_state({RIVAL_KEY: value})

    return apply


def test_conflicting_writer_between_download_and_publish_loses_no_update(s3_pipeline, s3_client, tmp_path):
    assert s3_pipeline.materialize_full().success
    edited = sorted(s3_pipeline.sandbox.athlete.visible_activities, key=lambda a: a["startDateTimeLocal"])[5]
    s3_pipeline.sandbox.athlete.edit_activity(edited["activityId"], distance=edited["distance"] + 7)
    uri = s3_pipeline.uri
    applied: list[str] = []

    class RivalPublishesDuringFirstWrite(DuckDBStorage):
        """The real storage; during the first write (after its download, before its publish) another writer
        publishes its own change: deterministic, no timing involved."""

        def write(self, apply):
            def rival_then_apply(manager):
                applied.append("apply")
                if len(applied) == 1:
                    rival = S3DatabasePublisher(make_s3_client(), parse_s3_uri(uri), run_id="rival-writer")
                    assert rival.run(_set_marker("from the rival")).published
                return apply(manager)

            return super().write(rival_then_apply)

    defs = build_defs(Settings.from_env(), resources={"storage": RivalPublishesDuringFirstWrite(database=uri)})
    keys = s3_pipeline.partition_keys()
    from myrunstreak_pipeline.defs.automation import range_tags

    result = defs.resolve_job_def("sync_job").execute_in_process(
        instance=s3_pipeline.instance, tags=range_tags(keys[0], keys[-1])
    )
    assert result.success
    runs_meta = _materializations(result)["runs"]
    assert runs_meta["s3_publish_attempts"].value == 2  # 412, re-downloaded, re-applied, published
    assert applied.count("apply") == 4  # ingest twice, then details and analytics once each
    # both changes are in the object: the rival's marker and this run's edited run
    assert _query(s3_client, uri, tmp_path, "SELECT value FROM sync_state WHERE key = ?", [RIVAL_KEY]) == [
        ("from the rival",)
    ]
    [(distance,)] = _query(
        s3_client, uri, tmp_path, "SELECT distance_km FROM runs WHERE activity_id = ?", [str(edited["activityId"])]
    )
    assert abs(distance - (edited["distance"] + 7)) < 1e-9
    assert _head(s3_client, uri)["Metadata"]["run-id"] == result.run_id


def test_a_step_that_fails_publishes_nothing(s3_pipeline, s3_client, tmp_path):
    assert s3_pipeline.materialize_full().success
    uri = s3_pipeline.uri
    before = _head(s3_client, uri)
    versions = _version_count(s3_client, uri)

    class FailsAfterItsWrites(DuckDBStorage):
        """The real storage, but the first step's work raises after it has written to its working copy."""

        def write(self, apply):
            def write_then_fail(manager):
                apply(manager)
                manager.connection.execute("DELETE FROM runs")
                raise RuntimeError("injected failure after the step's writes")

            return super().write(write_then_fail)

    defs = build_defs(Settings.from_env(), resources={"storage": FailsAfterItsWrites(database=uri)})
    failed = defs.resolve_job_def("sync_job").execute_in_process(
        instance=s3_pipeline.instance, partition_key=s3_pipeline.partition_keys()[-1], raise_on_error=False
    )
    assert not failed.success
    after = _head(s3_client, uri)
    assert (after["ETag"], after["Metadata"]) == (before["ETag"], before["Metadata"])  # nothing published
    assert _version_count(s3_client, uri) == versions
    assert _query(s3_client, uri, tmp_path, "SELECT count(*) FROM runs")[0][0] > 0

    # a real misconfiguration: an invalid streak rule is caught once, up front, when the settings are read:
    # no step runs, nothing is published
    s3_pipeline.monkeypatch.setenv("MYRUNSTREAK_STREAK_MIN_KM", "-1")
    with pytest.raises(SettingsError, match="MYRUNSTREAK_STREAK_MIN_KM"):
        s3_pipeline.materialize_partition(s3_pipeline.partition_keys()[-1], raise_on_error=False)
    assert _head(s3_client, uri)["ETag"] == after["ETag"]
    assert _query(s3_client, uri, tmp_path, "SELECT min_km FROM streak_rule")[0][0] > 0


def test_demo_with_an_s3_target(aws_env, s3_db_uri, s3_client, tmp_path, monkeypatch, capsys):
    from myrunstreak_pipeline import cli

    # demo sets these in os.environ itself: register them with monkeypatch so they are restored afterwards
    for name in (
        "SMASHRUN_API_BASE",
        "SMASHRUN_AUTH_BASE",
        "SMASHRUN_ACCESS_TOKEN",
        "MYRUNSTREAK_DB",
        "MYRUNSTREAK_HISTORY_START",
        "MYRUNSTREAK_DETAIL_BUDGET",
    ):
        monkeypatch.setenv(name, "unset-by-test")
    monkeypatch.setenv("MYRUNSTREAK_DETAIL_BUDGET", "3")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MYRUNSTREAK_CALENDAR_DIR", str(tmp_path / "calendar"))
    for name in ("MYRUNSTREAK_TIMEZONE", "MYRUNSTREAK_STREAK_MIN_KM", "MYRUNSTREAK_STREAK_MODE"):
        monkeypatch.delenv(name, raising=False)

    assert cli.main(["demo", "--db", s3_db_uri, "--years", "2"]) == 0
    out = capsys.readouterr().out
    assert "succeeded" in out and "Current streak" in out
    assert f"MYRUNSTREAK_DB={s3_db_uri} MYRUNSTREAK_S3_ENDPOINT_URL={aws_env}" in out
    head = _head(s3_client, s3_db_uri)
    assert head["Metadata"]["generation"] == "3"
    assert (tmp_path / "calendar" / "streak_calendar.png").is_file()  # the calendar step read the object too

    # `myrunstreak streak` on the demo's object, as of a fixed date
    today = dt.date.today().isoformat()
    assert cli.main(["streak", "--db", s3_db_uri, "--json", "--today", today]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["as_of"] == today and report["streak_count"] > 0


def test_writer_block_publishes_once_and_a_conflict_is_a_clear_error(aws_env, s3_db_uri, s3_client, tmp_path):
    from myrunstreak_pipeline.errors import MyRunStreakError

    storage = DuckDBStorage(database=s3_db_uri)  # outside a run: no cache, a generated run id
    with storage.writer() as db:
        RunRepository(db.connection).set_sync_state({RIVAL_KEY: "first"})
    assert _head(s3_client, s3_db_uri)["Metadata"]["run-id"].startswith("myrunstreak-")
    with storage.reader() as db:
        assert RunRepository(db.connection).get_sync_state(RIVAL_KEY) == "first"

    etag = _head(s3_client, s3_db_uri)["ETag"]
    # a with-block cannot be re-run: the conflict is reported, not retried
    with pytest.raises(MyRunStreakError, match="nothing from this step was published"), storage.writer() as db:
        RunRepository(db.connection).set_sync_state({RIVAL_KEY: "lost"})
        S3DatabasePublisher(s3_client, parse_s3_uri(s3_db_uri), run_id="rival").run(_set_marker("rival"))
    assert _head(s3_client, s3_db_uri)["ETag"] != etag
    assert _query(s3_client, s3_db_uri, tmp_path, "SELECT value FROM sync_state WHERE key = ?", [RIVAL_KEY]) == [
        ("rival",)
    ]
