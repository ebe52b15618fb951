"""Asset checks fail on planted bad data (and pass on good data, see test_graph)."""

from __future__ import annotations

import duckdb

from myrunstreak_pipeline.defs.common import run_sql_check


def _evaluations(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_future_dates_and_broken_recordings_fail_their_checks(pipeline):
    assert pipeline.materialize_full().success
    current_year = pipeline.partition_keys()[-1]
    with pipeline.connect(read_only=False) as con:
        # planted in an OLD year, so re-loading the current year leaves it in place
        con.execute(
            "UPDATE runs SET start_date = current_date + 40 WHERE activity_id = "
            "(SELECT min(activity_id) FROM runs WHERE year < ?)",
            [int(current_year)],
        )
        con.execute(
            "UPDATE recording_data SET recording_values = list_transform(recording_values, v -> v[2:]) "
            "WHERE activity_id = (SELECT min(activity_id) FROM recording_data)"
        )
    result = pipeline.materialize_partition(current_year)
    assert result.success  # these checks warn; they do not block
    evaluations = _evaluations(result)
    assert evaluations["no_future_local_dates"] is False
    assert evaluations["recording_series_equal_length"] is False
    assert evaluations["no_duplicate_activity_ids"] is True
    assert evaluations["quarantine_rate_below_threshold"] is True


def test_quarantine_rate_above_threshold_blocks_downstream(pipeline):
    pipeline.monkeypatch.setenv("MYRUNSTREAK_MAX_QUARANTINE_RATE", "0.01")
    current_year = pipeline.partition_keys()[-1]  # the partitions' own (UTC) current year
    athlete = pipeline.sandbox.athlete
    this_year = [a for a in athlete.visible_activities if a["startDateTimeLocal"].startswith(current_year)]
    spoiled = this_year[:10]  # fewer in the first days of January: still far above the 1% threshold
    assert spoiled
    for activity in spoiled:
        athlete.edit_activity(activity["activityId"], distance=-1)  # invalid: quarantined, never dropped
    result = pipeline.materialize_partition(current_year, raise_on_error=False)
    assert not result.success
    assert _evaluations(result)["quarantine_rate_below_threshold"] is False
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "runs" in materialized and "current_streak" not in materialized  # analytics waited
    with pipeline.connect() as con:
        assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == len(spoiled)


def test_streak_and_monthly_consistency_checks_fail_on_planted_views(pipeline):
    assert pipeline.materialize_full().success
    with pipeline.connect(read_only=False) as con:
        assert run_sql_check(con, "longest_streak_covers_current.sql")["failures"] == 0
        assert run_sql_check(con, "monthly_totals_match_daily.sql")["failures"] == 0
        con.execute("CREATE OR REPLACE TEMP VIEW current_streak AS SELECT 1000000 AS days")
        con.execute("CREATE TEMP TABLE true_months AS SELECT * FROM monthly_summary")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW monthly_summary AS SELECT month_start, total_km + "
            "CASE WHEN month_start = (SELECT max(month_start) FROM true_months) THEN 0.5 ELSE 0 END "
            "AS total_km, run_count FROM true_months"
        )
        assert run_sql_check(con, "longest_streak_covers_current.sql")["failures"] == 1
        mismatch = run_sql_check(con, "monthly_totals_match_daily.sql")
        assert mismatch["failures"] == 1 and len(mismatch["sample"]) == 1


def test_duplicate_ids_check_sql_fails_when_the_key_is_not_enforced(tmp_path):
    con = duckdb.connect(str(tmp_path / "dup.duckdb"))
    con.execute("CREATE TABLE runs (activity_id VARCHAR, deleted BOOLEAN)")  # e.g. a table made by an old tool
    con.execute("INSERT INTO runs VALUES ('1', false), ('2', false), ('2', false)")
    outcome = run_sql_check(con, "runs_duplicate_activity_ids.sql")
    assert outcome["failures"] == 1 and list(outcome["sample"]) == ["2"]
