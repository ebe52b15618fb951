"""The whole asset graph, materialized in-process against the sandbox into a real DuckDB file."""

from __future__ import annotations

import dagster as dg

from myrunstreak_pipeline_tests.fixtures.dagster import table_snapshot

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
