"""The sync job, the daily schedule and the SmashRun change sensor."""

import datetime as dt
import json

import dagster as dg

from myrunstreak_pipeline.defs.resources import DuckDBStorage, SmashRunResource
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline.smashrun.sync import plan_changes, stored_cursor

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
EARLY_JANUARY_DAYS = 7  # the first week of a year also reloads the previous year (late syncs, edits)
SENSOR_INTERVAL_SECONDS = 300  # two API requests per tick at most: ~24/hour of SmashRun's ~250


def build_sync_job():
    # In-process: one process, one writer of the DuckDB file; steps run one after another.
    return dg.define_asset_job(
        "sync_job",
        selection=dg.AssetSelection.all(),
        executor_def=dg.in_process_executor,
        description="Summaries of the requested years → runs → details (budgeted) → analytics.",
    )


def range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make one run cover partitions first..last (a single-run backfill)."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}


def build_daily_schedule(
    job, partitions: dg.TimeWindowPartitionsDefinition, settings: Settings
) -> dg.ScheduleDefinition:
    hour, minute = settings.schedule_hour_minute
    first_key = partitions.get_first_partition_key()

    @dg.schedule(
        name="daily_sync",
        cron_schedule=f"{minute} {hour} * * *",
        execution_timezone=settings.timezone or "UTC",
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily: the current year (and, in the first week of January, the previous year too), "
        "then details within the budget and the analytics.",
    )
    def daily_sync(context: dg.ScheduleEvaluationContext):
        today = context.scheduled_execution_time.date()  # already in the execution time zone
        year = str(today.year)
        run_key = f"daily:{today.isoformat()}"
        previous = str(today.year - 1)
        if today.month == 1 and today.day <= EARLY_JANUARY_DAYS and previous >= first_key:
            return dg.RunRequest(run_key=run_key, tags=range_tags(previous, year))
        return dg.RunRequest(run_key=run_key, partition_key=year)

    return daily_sync


def build_change_sensor(job, partitions: dg.TimeWindowPartitionsDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="smashrun_changes",
        job=job,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Polls SmashRun for new/edited activities (cursor) and reconciles ids (deletions); "
        "requests a run for exactly the years that changed.",
    )
    def smashrun_changes(context: dg.SensorEvaluationContext, smashrun: SmashRunResource, storage: DuckDBStorage):
        state = json.loads(context.cursor) if context.cursor else {}
        since = state.get("updated_since")
        if since is None:
            since = stored_cursor(storage)
            if since is None:
                return dg.SkipReason("no sync cursor yet: run `myrunstreak run --full` (or a backfill) first")
        with smashrun.client() as client:
            plan = plan_changes(client, storage, float(since))
        new_state = {"updated_since": max(float(since), plan.new_cursor or 0.0)}
        valid = set(partitions.get_partition_keys())
        outside = [year for year in plan.years if year not in valid]
        if outside:
            context.log.warning(f"changes dated outside the partitions (ignored): {outside}")
        requests = [
            dg.RunRequest(run_key=plan.run_key(year), partition_key=year) for year in plan.years if year in valid
        ]
        if plan.note:
            context.log.info(plan.note)
        if not requests:
            reason = (
                f"nothing new or deleted since {dt.datetime.fromtimestamp(float(since), dt.UTC):%Y-%m-%d %H:%M} UTC"
            )
            return dg.SensorResult(
                skip_reason=dg.SkipReason(f"{reason}. {plan.note}".strip()), cursor=json.dumps(new_state)
            )
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(new_state))

    return smashrun_changes
