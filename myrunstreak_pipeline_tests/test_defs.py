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
    "raw_activity_summaries",
    "runs",
    "raw_activity_details",
    "laps",
    "recording_data",
    "daily_summary",
    "weekly_summary",
    "monthly_summary",
    "yearly_summary",
    "streak_analysis",
    "current_streak",
    "personal_records",
    "distance_trends",
    "eddington",
    "milestones",
}


def test_definitions_shape(monkeypatch):
    monkeypatch.delenv("MYRUNSTREAK_HISTORY_START", raising=False)
    d = defs()
    repo = d.get_repository_def()
    assert {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()} >= ASSETS  # (+ other rooms' assets)
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
    assert checks >= {
        "no_future_local_dates",
        "no_duplicate_activity_ids",
        "quarantine_rate_below_threshold",
        "recording_series_equal_length",
        "longest_streak_covers_current",
        "monthly_totals_match_daily",
    }


def test_secrets_are_env_var_references_not_values(monkeypatch):
    monkeypatch.setenv("SMASHRUN_ACCESS_TOKEN", "very-secret-value")
    resource = defs().resources["smashrun"]
    assert isinstance(resource.access_token, dg.EnvVar) and resource.access_token == "SMASHRUN_ACCESS_TOKEN"
    assert "very-secret-value" not in repr(resource)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": "", "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    env.pop("DAGSTER_HOME")
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def test_dg_check_defs_uses_pyproject():
    done = _cli("dg", "check", "defs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr


def test_dagster_validate_with_workspace_yaml():
    done = _cli("dagster", "definitions", "validate", "-w", "workspace.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "myrunstreak" in done.stdout + done.stderr


def _defs_shape(d: dg.Definitions) -> dict:
    """Every asset spec, check, job, schedule, sensor and resource, as plain data (what the snapshot pins)."""
    repo = d.get_repository_def()
    assets = {}
    for key in sorted(repo.asset_graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        definition = d.resolve_assets_def(key)
        spec = next(s for s in definition.specs if s.key == key)
        partitions = definition.partitions_def
        assets[key.to_user_string()] = {
            "step": definition.node_def.name,
            "description": spec.description,
            "group": spec.group_name,
            "kinds": sorted(spec.kinds),
            "owners": list(spec.owners),
            "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
            "pool": definition.op.pool,
            "partitions": None
            if partitions is None
            else {
                "cron": partitions.cron_schedule,
                "start": partitions.start.isoformat(),
                "fmt": partitions.fmt,
                "end_offset": partitions.end_offset,
                "timezone": partitions.timezone,
            },
            "backfill_policy": str(definition.backfill_policy) if definition.backfill_policy else None,
        }
    checks = {}
    for check_key in sorted(repo.asset_graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        spec = next(s for s in d.resolve_assets_def(check_key.asset_key).check_specs if s.key == check_key)
        checks[f"{check_key.asset_key.to_user_string()}:{check_key.name}"] = {
            "blocking": spec.blocking,
            "description": spec.description,
        }
    schedules = {
        s.name: {
            "cron": s.cron_schedule,
            "timezone": s.execution_timezone,
            "job": s.job_name,
            "default_status": s.default_status.value,
        }
        for s in repo.schedule_defs
    }
    sensors = {
        s.name: {
            "interval_seconds": s.minimum_interval_seconds,
            "jobs": [j.name for j in s.jobs],
            "default_status": s.default_status.value,
            "resources": sorted(s.required_resource_keys),
        }
        for s in repo.sensor_defs
    }
    jobs = {
        j.name: {"executor": j.executor_def.name, "description": j.description}
        for j in repo.get_all_jobs()
        if not j.name.startswith("__")
    }
    return {
        "assets": assets,
        "checks": checks,
        "jobs": jobs,
        "schedules": schedules,
        "sensors": sensors,
        "resources": sorted(d.resources),
    }


def test_definitions_snapshot(monkeypatch, snapshot):
    """Any change to the graph's shape shows up here: review it, then `pytest --snapshot-update`."""
    for name in ("MYRUNSTREAK_HISTORY_START", "MYRUNSTREAK_TIMEZONE", "MYRUNSTREAK_SCHEDULE_TIME"):
        monkeypatch.delenv(name, raising=False)
    assert _defs_shape(defs()) == snapshot
