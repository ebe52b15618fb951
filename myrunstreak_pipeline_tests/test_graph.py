"""The whole asset graph, materialized in-process against the sandbox into a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from myrunstreak_pipeline_tests.fixtures.dagster import SANDBOX_TOKEN, table_snapshot

AUDIT = ("first_loaded_at", "last_loaded_at", "fetched_at", "updated_at", "quarantined_at")


def test_full_backfill_materializes_every_asset_in_one_run(pipeline):
    result = pipeline.materialize_full()
    assert result.success
    keys = pipeline.partition_keys()
    runs_events = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("runs")]
    assert {e.partition for e in runs_events} == set(keys)  # one run covered every yearly partition
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {k.to_user_string() for k in pipeline.defs().resolve_all_asset_keys()}
    assert all(evaluation.passed for evaluation in result.get_asset_check_evaluations())

    visible = pipeline.sandbox.athlete.visible_activities
    with pipeline.connect() as con:
        assert con.execute("SELECT count(*) FROM runs WHERE NOT deleted").fetchone()[0] == len(visible)
        assert con.execute("SELECT count(*) FROM raw_activities WHERE payload_kind = 'detail'").fetchone()[0] == 20
        assert con.execute("SELECT count(*) FROM recording_data").fetchone()[0] > 0

    current = pipeline.instance.get_latest_materialization_event(dg.AssetKey("current_streak"))
    metadata = current.asset_materialization.metadata
    assert metadata["current_streak_days"].value <= metadata["longest_streak_days"].value
    assert "Streak card" in metadata["streak_card"].value
    runs_meta = runs_events[-1].materialization.metadata
    assert runs_meta["dagster/row_count"].value == len(pipeline.sandbox.athlete.activities)
    assert "distance_km" in {c.name for c in runs_meta["dagster/column_schema"].value.columns}


SUMMARY_TABLES = {
    "runs": ("first_loaded_at", "last_loaded_at"),
    "raw_activities": ("fetched_at",),
    "quarantine": ("quarantine_id", "quarantined_at"),
}


def _snapshots(pipeline) -> dict[str, list[tuple]]:
    with pipeline.connect() as con:
        return {table: table_snapshot(con, table, exclude) for table, exclude in SUMMARY_TABLES.items()}


def test_partition_reruns_and_backfill_give_identical_tables(pipeline, tmp_path):
    pipeline.monkeypatch.setenv("MYRUNSTREAK_DETAIL_BUDGET", "0")  # compare the summary path only
    assert pipeline.materialize_full().success
    backfilled = _snapshots(pipeline)
    assert backfilled["runs"]

    keys = pipeline.partition_keys()
    for key in (keys[1], keys[-1]):  # re-running partitions changes nothing
        assert pipeline.materialize_partition(key).success
    assert _snapshots(pipeline) == backfilled
    assert pipeline.materialize_full().success  # nor does a second backfill
    assert _snapshots(pipeline) == backfilled

    # a fresh database filled one partition per run ends up identical to the single-run backfill
    pipeline.db_path = tmp_path / "per_partition.duckdb"
    pipeline.monkeypatch.setenv("MYRUNSTREAK_DB", str(pipeline.db_path))
    for key in keys:
        assert pipeline.materialize_partition(key).success
    per_partition = _snapshots(pipeline)
    assert per_partition["runs"] == backfilled["runs"]
    assert per_partition["raw_activities"] == backfilled["raw_activities"]


def test_myrunstreak_run_full_then_incremental_through_the_cli(pipeline, tmp_path, monkeypatch, capsys):
    from myrunstreak_pipeline import cli

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert cli.main(["run", "--full"]) == 0
    full = capsys.readouterr().out
    keys = pipeline.partition_keys()
    assert f"partitions done {len(keys)}/{len(keys)}" in full
    assert (tmp_path / "home" / "dagster.yaml").read_text().count("default_limit: 1") == 1

    edited = sorted(pipeline.sandbox.athlete.visible_activities, key=lambda a: a["startDateTimeLocal"])[30]
    pipeline.sandbox.athlete.edit_activity(edited["activityId"], distance=edited["distance"] + 2)
    assert cli.main(["run"]) == 0
    incremental = capsys.readouterr().out
    first = edited["startDateTimeLocal"][:4]
    assert f"partitions {first}..{keys[-1]}" in incremental
    with pipeline.connect() as con:
        distance = con.execute(
            "SELECT distance_km FROM runs WHERE activity_id = ?", [str(edited["activityId"])]
        ).fetchone()[0]
    assert abs(distance - (edited["distance"] + 2)) < 1e-9

    assert cli.main(["run"]) == 0  # nothing new: only the current year
    assert f"partitions {keys[-1]}..{keys[-1]} (1 of {len(keys)})" in capsys.readouterr().out

    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(tmp_path / "home"))
    assert len(instance.get_runs()) == 3  # the UI sees every run


def test_sandbox_token_never_reaches_the_instance_storage(pipeline):
    pipeline.sandbox.inject(status=503, count=1)  # a retried failure: error paths log too
    assert pipeline.materialize_full().success
    scanned = 0
    for path in Path(pipeline.instance.root_directory).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            scanned += len(data)
            assert SANDBOX_TOKEN.encode() not in data, f"token found in {path}"
    assert scanned > 10_000  # the event log (SQLite) and compute logs were really there
    run_id = pipeline.instance.get_runs(limit=1)[0].run_id
    for record in pipeline.instance.get_records_for_run(run_id).records:
        assert SANDBOX_TOKEN not in str(record.event_log_entry)
