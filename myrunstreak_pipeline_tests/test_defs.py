"""The definitions load (in-process and through both CLI discovery paths) with the intended shape."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from myrunstreak_pipeline.definitions import defs

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ASSETS = {
    "raw_activity_summaries", "runs", "raw_activity_details", "laps", "recording_data", "daily_summary",
    "weekly_summary", "monthly_summary", "yearly_summary", "streak_analysis", "current_streak",
    "personal_records", "distance_trends", "eddington",
}


def test_definitions_shape(monkeypatch):
    monkeypatch.delenv("MYRUNSTREAK_HISTORY_START", raising=False)
    d = defs()
    repo = d.get_repository_def()
    assert ASSETS <= {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}  # (+ other rooms' assets)
    ingest = d.resolve_assets_def("runs")
    assert ingest.backfill_policy == dg.BackfillPolicy.single_run()
    assert ingest is d.resolve_assets_def("raw_activity_summaries")  # one step writes both
    keys = ingest.partitions_def.get_partition_keys()
    assert keys[0] == "1970" and len(keys[-1]) == 4 and len(keys) >= 57
    assert d.resolve_assets_def("laps").partitions_def is None  # details: unpartitioned, budgeted
    job = d.resolve_job_def("sync_job")
    assert job.executor_def.name == "in_process"
    assert dg.validate_run_config(job, {}) is not None
    for key in ASSETS:  # every asset in the one-writer pool, with a group, owner and description
        spec = next(s for s in d.resolve_assets_def(key).specs if s.key.to_user_string() == key)
        assert spec.group_name in ("ingest", "analytics") and spec.owners and spec.description
        assert d.resolve_assets_def(key).op.pool == "duckdb"
    checks = {k.name for k in repo.asset_graph.asset_check_keys}
    assert checks >= {"no_future_local_dates", "no_duplicate_activity_ids", "quarantine_rate_below_threshold",
                      "recording_series_equal_length", "longest_streak_covers_current", "monthly_totals_match_daily"}


def test_secrets_are_env_var_references_not_values(monkeypatch):
    monkeypatch.setenv("SMASHRUN_ACCESS_TOKEN", "very-secret-value")
    resource = defs().resources["smashrun"]
    assert isinstance(resource.access_token, dg.EnvVar) and resource.access_token == "SMASHRUN_ACCESS_TOKEN"
    assert "very-secret-value" not in repr(resource)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": "", "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    env.pop("DAGSTER_HOME")
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def test_dg_check_defs_uses_pyproject():
    done = _cli("dg", "check", "defs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr


def test_dagster_validate_with_workspace_yaml():
    done = _cli("dagster", "definitions", "validate", "-w", "workspace.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "myrunstreak" in done.stdout + done.stderr
