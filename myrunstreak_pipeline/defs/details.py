"""Raw activity details → ``laps`` and ``recording_data``: unpartitioned, budgeted, resumable.

Each run spends at most ``SmashRunResource.detail_request_budget`` requests on the newest runs still
missing details (``RunRepository.ids_needing_details``), so a 20,000-run history fills in over many runs
within SmashRun's ~250 requests/hour. The analytics depend on ``runs`` only: details never block the streak.

One id SmashRun keeps failing for (5xx, garbage, dropped connection) does not fail the step: it is recorded in
``detail_failures`` and retried in later runs with exponential backoff, then given up on after
``SmashRunResource.detail_max_attempts`` (``duckdb_ops.detail_failures``); the ``detail_fetch_failures`` check
warns about it. Auth errors still fail the step (the user must act); a rate limit stops the batch cleanly.
"""

import dagster as dg

from myrunstreak_pipeline.defs.common import (
    INGEST_GROUP,
    OWNERS,
    POOL,
    check_result,
    log_progress,
    run_sql_check,
    table_row_counts,
    table_schema,
)
from myrunstreak_pipeline.defs.resources import DuckDBStorage, SmashRunResource
from myrunstreak_pipeline.duckdb_ops import RunRepository
from myrunstreak_pipeline.duckdb_ops.detail_failures import (
    DetailFailureReport,
    detail_failure_report,
    settle_detail_fetches,
    utc_now,
)

RAW_DETAILS = dg.AssetSpec(
    "raw_activity_details",
    deps=["runs"],
    description="Full SmashRun activities (recordings, laps) as received; fetched lazily within a request budget.",
    group_name=INGEST_GROUP,
    kinds={"smashrun", "duckdb"},
    owners=OWNERS,
)
LAPS = dg.AssetSpec(
    "laps",
    deps=[RAW_DETAILS],
    description="Laps of each detailed run (cumulative time/distance).",
    group_name=INGEST_GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
)
RECORDING_DATA = dg.AssetSpec(
    "recording_data",
    deps=[RAW_DETAILS],
    description="Column-major recording series of each detailed run.",
    group_name=INGEST_GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
)


def build_details_assets() -> dg.AssetsDefinition:
    @dg.multi_asset(
        name="activity_details",
        specs=[RAW_DETAILS, LAPS, RECORDING_DATA],
        check_specs=[
            dg.AssetCheckSpec(
                "recording_series_equal_length",
                asset=RECORDING_DATA.key,
                description="Every recording series has sample_count values, one per key.",
            ),
            dg.AssetCheckSpec(
                "detail_fetch_failures",
                asset=RAW_DETAILS.key,
                description="No run's detail keeps failing to fetch (WARN: ids backing off, or given up on after "
                "MYRUNSTREAK_DETAIL_MAX_ATTEMPTS attempts).",
            ),
        ],
        pool=POOL,
        description="Fetch full activities for runs still missing details, within the per-run request budget.",
    )
    def activity_details(context: dg.AssetExecutionContext, smashrun: SmashRunResource, storage: DuckDBStorage):
        budget = max(0, smashrun.detail_request_budget)
        with storage.reader() as db:  # short read: which runs still need details (the runs step made the file)
            pending = RunRepository(db.connection).ids_needing_details(budget)
        batch = None
        if pending:
            with smashrun.client() as client:  # no DuckDB lock held while waiting on the network
                batch = client.fetch_details(pending, budget)
        now = utc_now()  # one clock for this run's failure bookkeeping

        def load(db):  # idempotent: on S3 it is re-applied to a fresh copy if another writer published first
            con = db.connection
            repo = RunRepository(con)
            result = None
            if batch is not None:
                items = batch.fetched + [raw for raw, _reason in batch.rejects]
                result = repo.upsert_activities(items, payload_kind="detail") if items else None
                repo.mark_deleted(batch.missing)  # 404: deleted upstream since it was listed
            settle_detail_fetches(  # also drops the failure rows of runs deleted since
                con,
                answered=batch.answered_ids if batch else [],
                failed=batch.failed if batch else [],
                max_attempts=smashrun.detail_max_attempts,
                now=now,
            )
            schemas = {name: table_schema(con, name) for name in ("raw_activities", "laps", "recording_data")}
            return (
                result,
                repo.count_needing_details(),
                table_row_counts(con),
                schemas,
                run_sql_check(con, "recording_series_equal_length.sql"),
                detail_failure_report(con, now=now),
            )

        result, due, counts, schemas, lengths, failures = storage.write(load)
        left = due + failures.waiting  # still to fetch: due now, or backing off (given-up ids not counted)
        used = batch.requests_used if batch else 0
        log_progress(
            context,
            f"details: {used} requests used of {budget}; {left} runs still need details"
            + (f" (stopped by {batch.stopped_by})" if batch and batch.stopped_by else "")
            + (f"; {len(batch.failed)} failed this run" if batch and batch.failed else "")
            + (f"; {failures.backing_off} backing off, {failures.given_up} given up" if failures.total else ""),
        )
        progress = {
            "detail_requests_used": used,
            "detail_request_budget": budget,
            "details_loaded": result.loaded if result else 0,
            "details_quarantined": result.quarantined if result else 0,
            "details_missing_upstream": len(batch.missing) if batch else 0,
            "runs_needing_details": left,
            "stopped_by": (batch.stopped_by if batch else None) or "done",
            "details_failed": len(batch.failed) if batch else 0,
            "details_backing_off": failures.backing_off,
            "details_given_up": failures.given_up,
            "detail_failures": dg.MetadataValue.json(_failure_list(failures)),
        }
        yield dg.MaterializeResult(
            asset_key=RAW_DETAILS.key,
            metadata={
                **progress,
                **storage.publish_metadata(),
                "dagster/row_count": counts.get("raw_activity_details", 0),
                "dagster/column_schema": schemas["raw_activities"],
            },
        )
        yield dg.MaterializeResult(
            asset_key=LAPS.key,
            metadata={"dagster/row_count": counts.get("laps", 0), "dagster/column_schema": schemas["laps"]},
        )
        yield dg.MaterializeResult(
            asset_key=RECORDING_DATA.key,
            metadata={
                "dagster/row_count": counts.get("recording_data", 0),
                "dagster/column_schema": schemas["recording_data"],
            },
        )
        yield check_result(
            "recording_series_equal_length",
            "recording_data",
            lengths,
            description="recordings whose series lengths disagree",
        )
        yield dg.AssetCheckResult(
            check_name="detail_fetch_failures",
            asset_key=RAW_DETAILS.key,
            passed=failures.total == 0,
            severity=dg.AssetCheckSeverity.WARN,  # details are optional: the streak never waits for them
            metadata={
                "failures": failures.total,
                "backing_off": failures.backing_off,
                "given_up": failures.given_up,
                "given_up_ids": dg.MetadataValue.json(failures.given_up_ids),
                "max_attempts": smashrun.detail_max_attempts,
                "sample": dg.MetadataValue.json(_failure_list(failures)),
            },
            description="detail ids whose fetch keeps failing (retried with backoff, or given up on)",
        )

    return activity_details


def _failure_list(report: DetailFailureReport) -> list[dict]:
    """A short, JSON-ready list of failing ids with their reasons (no payload text, no secrets)."""
    return [
        {
            "activity_id": f.activity_id,
            "reason": f.last_reason,
            "attempts": f.attempts,
            "gave_up": f.gave_up,
            "next_attempt_at": None if f.gave_up else f.next_attempt_at.isoformat(timespec="seconds"),
        }
        for f in report.failures
    ]
