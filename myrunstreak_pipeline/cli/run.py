"""``myrunstreak run [--full]``: materialize the asset graph through Dagster, in this process.

Incremental by default: the years changed upstream since the stored cursor (plus deletions found by id
reconciliation) through the current year, as ONE single-run backfill, then details and analytics.
``--full`` loads the whole history as one single-run backfill. Runs are recorded in DAGSTER_HOME's
instance (default ``.myrunstreak/dagster_home``) so ``dagster dev`` shows them.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from myrunstreak_pipeline.settings import Settings

INSTANCE_TEMPLATE = Path(__file__).with_name("dagster_instance.yaml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full", action="store_true", help="reload the whole history (one single-run backfill)")


def ensure_dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME (absolute), created with the project's dagster.yaml when it has none. Exported to this
    process's environment, where ``DagsterInstance.get()`` looks for it."""
    home = Path(settings.dagster_home).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(INSTANCE_TEMPLATE, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def command(args: argparse.Namespace) -> int:
    from myrunstreak_pipeline.settings import Settings

    return run_pipeline(Settings.from_env(), full=args.full, verbose=getattr(args, "verbose", False))


def run_pipeline(settings: Settings, *, full: bool, verbose: bool = False) -> int:
    """Preflight checks, the plan, then one in-process Dagster run of ``sync_job``; 0 when it succeeded."""
    started = time.perf_counter()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # Dagster's storage migrations: noise on stdout
    from myrunstreak_pipeline.cli.preflight import check_before_run

    check_before_run(settings)  # no credentials / unreachable API / bad DB path: one line + hint, no run
    home = ensure_dagster_home(settings)
    import dagster as dg  # heavy: imported only when a run is actually made

    from myrunstreak_pipeline.definitions import build_defs
    from myrunstreak_pipeline.defs.automation import range_tags

    _print_progress_lines()  # no credentials / unreachable API / bad DB path: one line + hint, no run
    job = build_defs(settings).resolve_job_def("sync_job")
    keys = job.partitions_def.get_partition_keys()
    first, tags, why = plan_run(settings, keys, full=full)
    count = len(keys) - keys.index(first)
    print(f"{why}: partitions {first}..{keys[-1]} ({count} of {len(keys)}) in one run; DAGSTER_HOME={home}")
    if first == keys[-1]:  # one partition: a plain partitioned run
        selection = {"partition_key": first, "tags": tags}
    else:  # a range: ONE single-run backfill (range tags)
        selection = {"tags": {**range_tags(first, keys[-1]), **tags}}
    result = job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        **selection,
        run_config={"loggers": {"console": {"config": {"log_level": "INFO" if verbose else "WARNING"}}}},
        raise_on_error=False,
    )
    print(progress_summary(result, count))
    print(f"run {result.run_id} {'succeeded' if result.success else 'FAILED'} in {time.perf_counter() - started:.1f} s")
    return 0 if result.success else 1


def _print_progress_lines() -> None:
    """Show the steps' progress lines (defs.common.log_progress) live on stdout while the run executes."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  %(asctime)s  %(message)s", datefmt="%H:%M:%S"))
    progress = logging.getLogger("myrunstreak.progress")
    progress.addHandler(handler)
    progress.setLevel(logging.INFO)
    progress.propagate = False  # already printed; the root logger (-v) would print it twice


def plan_run(settings, keys: list[str], *, full: bool) -> tuple[str, dict[str, str], str]:
    """(first partition to load, extra run tags, reason). The last partition is always the current year."""
    from myrunstreak_pipeline.defs.common import UPDATED_SINCE_TAG
    from myrunstreak_pipeline.defs.resources import DuckDBStorage
    from myrunstreak_pipeline.smashrun.client import SmashRunClient
    from myrunstreak_pipeline.smashrun.sync import plan_changes, stored_cursor

    if full:
        return keys[0], {}, "full history"
    storage = DuckDBStorage.from_settings(settings)
    cursor = stored_cursor(storage)
    if cursor is None:
        return keys[0], {}, "no sync cursor yet, so the full history"
    with SmashRunClient.from_settings(settings) as client:
        plan = plan_changes(client, storage, cursor)
    changed = [year for year in plan.years if year in keys]
    first = min([*changed, keys[-1]])
    new_cursor = max(cursor, plan.new_cursor or 0.0)
    note = f"; {plan.note}" if plan.note else ""
    why = f"incremental ({len(plan.updated_years)} year(s) updated, {len(plan.deleted_years)} with deletions{note})"
    return first, {UPDATED_SINCE_TAG: str(int(new_cursor))}, why


def progress_summary(result, partitions: int) -> str:
    done = {e.partition for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "runs"}
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    runs, details = meta.get("runs", {}), meta.get("raw_activity_details", {})

    def value(metadata, key, default="?"):
        return metadata[key].value if key in metadata else default

    lines = [
        f"partitions done {len(done)}/{partitions}",
        f"activities loaded {value(runs, 'loaded')} (quarantined {value(runs, 'quarantined')}, "
        f"flagged deleted {value(runs, 'marked_deleted')})",
        f"detail requests used {value(details, 'detail_requests_used')}/{value(details, 'detail_request_budget')}"
        f"{_left(details)}, "
        f"runs still needing details {value(details, 'runs_needing_details')}",
    ]
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    if failed:
        lines.append(f"failed steps: {', '.join(failed)} (see the run in the Dagster UI)")
    return "; ".join(lines)


def _left(details) -> str:
    """How many detail requests this run's budget still had, when the details step reported it."""
    if "detail_requests_used" not in details or "detail_request_budget" not in details:
        return ""
    left = int(details["detail_request_budget"].value) - int(details["detail_requests_used"].value)
    return f" ({max(left, 0)} left in the budget)"
