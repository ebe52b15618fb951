"""Raw activity summaries + validated ``runs``: ONE yearly-partitioned step.

Why one ``@multi_asset``: ``RunRepository.replace_window`` lands the raw payloads, the validated runs, the
quarantine and the sync cursor in one transaction, so one step (one DuckDB connection, one commit) is the
natural unit; a second partitioned asset would add Dagster bookkeeping per partition and a second
connection without making anything more correct. Measured: 57-partition single-run backfill of trivial
bodies, one vs two partitioned assets, 5.3-6.5 s either way (noise dominates): Dagster's floor.
"""

import datetime as dt

import dagster as dg

from myrunstreak_pipeline.analytics import local_today
from myrunstreak_pipeline.defs.common import (
    INGEST_GROUP,
    OWNERS,
    POOL,
    UPDATED_SINCE_TAG,
    check_result,
    log_progress,
    run_sql_check,
    table_row_counts,
    table_schema,
)
from myrunstreak_pipeline.defs.partitions import covers_whole_history, window_dates
from myrunstreak_pipeline.defs.resources import DuckDBStorage, SmashRunResource
from myrunstreak_pipeline.duckdb_ops import RunRepository, stage_activities
from myrunstreak_pipeline.models.fields import max_updated_epoch
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline.smashrun.sync import CURSOR_KEY

RAW_SUMMARIES = dg.AssetSpec(
    "raw_activity_summaries",
    description="Activity summaries exactly as SmashRun listed them (raw_activities, payload_kind='summary').",
    group_name=INGEST_GROUP,
    kinds={"smashrun", "duckdb"},
    owners=OWNERS,
)
RUNS = dg.AssetSpec(
    "runs",
    deps=[RAW_SUMMARIES],
    description="Validated runs, one row per SmashRun activity; local calendar date in start_date. Invalid "
    "payloads go to the quarantine table; runs gone upstream are flagged deleted.",
    group_name=INGEST_GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
)


def build_ingest_assets(partitions: dg.TimeWindowPartitionsDefinition, settings: Settings) -> dg.AssetsDefinition:
    check_specs = [
        dg.AssetCheckSpec(
            "no_future_local_dates", asset=RUNS.key, description="No run is dated after tomorrow (local)."
        ),
        dg.AssetCheckSpec(
            "no_duplicate_activity_ids",
            asset=RUNS.key,
            description="Each activity id once, in the listing and in runs.",
        ),
        dg.AssetCheckSpec(
            "quarantine_rate_below_threshold",
            asset=RUNS.key,
            blocking=True,
            description="Share of invalid payloads in this load is under "
            "MYRUNSTREAK_MAX_QUARANTINE_RATE (default 5%); above it, downstream assets wait.",
        ),
    ]

    @dg.multi_asset(
        name="activity_summaries",
        specs=[RAW_SUMMARIES, RUNS],
        check_specs=check_specs,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=POOL,
        description="List the window's activity summaries from SmashRun and replace the window's runs.",
    )
    def activity_summaries(context: dg.AssetExecutionContext, smashrun: SmashRunResource, storage: DuckDBStorage):
        window = context.partition_time_window  # one year, or the whole range of a single-run backfill
        start, end = window_dates(window)
        whole_history = covers_whole_history(partitions, window)
        log_progress(
            context,
            f"listing SmashRun summaries for {start}..{end} "
            f"({len(context.partition_keys)} partition(s), {'one unpaged call' if whole_history else 'paged'})",
        )
        # Taken before the first request: the window's deletions are recorded as of then, and a run stored from a
        # newer listing (stamped after this) is not flagged by this one (monotonic updates, replace_window).
        listed_at = dt.datetime.now(dt.UTC)
        with smashrun.client() as client:
            # One unpaged listing serves a whole-history window; a year pages from the newest backwards.
            fetch = client.list_activities() if whole_history else client.list_activities_in_window(start, end)
        received = len(fetch.activities) + len(fetch.rejects)
        cursor = _cursor_to_store(context, whole_history, fetch.activities)
        # Validate and convert to Arrow once, then drop the raw dicts before the DuckDB work (peak memory on a
        # decades-long backfill); the staged batch is what an S3 conflict retry re-applies.
        staged = stage_activities(fetch.activities + [raw for raw, _reason in fetch.rejects])
        requests_used = fetch.requests_used
        del fetch
        # A run's own zone may be ahead of the runner's: tomorrow (local) is the latest plausible date.
        latest_date = local_today(settings.timezone) + dt.timedelta(days=1)

        def load(db):  # idempotent: on S3 it is re-applied to a fresh copy if another writer published first
            con = db.connection
            return (
                RunRepository(con).replace_window(start, end, staged, cursor=cursor, listed_at=listed_at),
                table_row_counts(con),
                table_schema(con, "runs"),
                table_schema(con, "raw_activities"),
                run_sql_check(con, "runs_future_local_dates.sql", {"latest_date": latest_date}),
                run_sql_check(con, "runs_duplicate_activity_ids.sql"),
            )

        result, counts, runs_schema, raw_schema, future, duplicates = storage.write(load)

        rate = result.quarantined / received if received else 0.0
        log_progress(
            context,
            f"window {start}..{end}: {received} summaries "
            f"({requests_used} API request{'' if requests_used == 1 else 's'}), {result.loaded} loaded, "
            f"{result.quarantined} quarantined, {result.marked_deleted} flagged deleted",
        )
        window_meta = {
            "window_start": str(start),
            "window_end_exclusive": str(end),
            "api_requests": requests_used,
            "whole_history_listing": whole_history,
        }
        yield dg.MaterializeResult(
            asset_key=RAW_SUMMARIES.key,
            metadata={
                **window_meta,
                "dagster/row_count": counts.get("raw_activity_summaries", 0),
                "summaries_received": received,
                "dagster/column_schema": raw_schema,
            },
        )
        yield dg.MaterializeResult(
            asset_key=RUNS.key,
            metadata={
                **window_meta,
                "dagster/row_count": counts.get("runs", 0),
                "live_runs": counts.get("live_runs", 0),
                "loaded": result.loaded,
                "quarantined": result.quarantined,
                "marked_deleted": result.marked_deleted,
                "duplicates_in_listing": result.duplicates,
                "unknown_enum_values": dg.MetadataValue.json(result.unknown_enum_values),
                "dagster/column_schema": runs_schema,
                **({"sync_cursor": cursor[CURSOR_KEY]} if cursor else {}),
                **storage.publish_metadata(),
            },
        )
        yield check_result("no_future_local_dates", "runs", future, description="runs dated after tomorrow (local)")
        yield check_result(
            "no_duplicate_activity_ids",
            "runs",
            {
                **duplicates,
                "failures": int(duplicates["failures"] or 0) + result.duplicates,
                "duplicates_in_listing": result.duplicates,
            },
            description="activity ids listed or stored more than once",
        )
        threshold = settings.max_quarantine_rate
        yield dg.AssetCheckResult(
            check_name="quarantine_rate_below_threshold",
            asset_key=RUNS.key,
            passed=rate <= threshold,
            metadata={
                "quarantine_rate": rate,
                "threshold": threshold,
                "quarantined": result.quarantined,
                "received": received,
                "sample_reasons": dg.MetadataValue.json([r for _, r in result.quarantine_reasons[:5]]),
            },
        )

    return activity_summaries


def _cursor_to_store(context: dg.AssetExecutionContext, whole_history: bool, activities: list) -> dict | None:
    """The "updated since" cursor may only move when this run provably holds every change up to it: a
    whole-history listing, or a `myrunstreak run` whose plan covered every changed partition (run tag)."""
    if whole_history:
        newest = max_updated_epoch(activities)
        return {CURSOR_KEY: str(int(newest))} if newest is not None else None
    tagged = context.run.tags.get(UPDATED_SINCE_TAG)
    return {CURSOR_KEY: tagged} if tagged else None
