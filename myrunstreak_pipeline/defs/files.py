"""Activity files from a drop folder or an ``s3://`` prefix (MYRUNSTREAK_IMPORT_DIR): the asset and its sensor.

The asset is a thin shell over ``imports.import_files``: files whose content is already stored are skipped before
parsing, the rest are parsed in a process pool and stored in batches (one transaction each; on S3, one publish
each), so a re-run is a no-op and memory stays flat. The sensor only lists the location (names and sizes, no
reads) and requests the import job when that listing changed.
"""

import dagster as dg

from myrunstreak_pipeline.defs.common import INGEST_GROUP, OWNERS, POOL, log_progress
from myrunstreak_pipeline.defs.resources import DuckDBStorage
from myrunstreak_pipeline.duckdb_ops import RunRepository
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.imports import ImportSummary, discover, import_files, listing_fingerprint
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline.today import machine_zone_name

ACTIVITY_FILES = "activity_files"
IMPORT_SENSOR_INTERVAL_SECONDS = 60  # a listing per minute: names and sizes only


def _s3_client_factory(settings: Settings):
    from myrunstreak_pipeline.duckdb_ops.s3.common import make_s3_client

    return lambda: make_s3_client(settings.s3_endpoint_url)


def list_import_dir(settings: Settings) -> list:
    """The importable files under MYRUNSTREAK_IMPORT_DIR (empty when it is unset)."""
    if not settings.import_dir:
        return []
    return list(discover([settings.import_dir], s3_client_factory=_s3_client_factory(settings)))


def build_file_import_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        name=ACTIVITY_FILES,
        group_name=INGEST_GROUP,
        kinds={"files", "duckdb"},
        owners=OWNERS,
        pool=POOL,
        check_specs=[
            dg.AssetCheckSpec(
                "activity_files_readable",
                asset=ACTIVITY_FILES,
                description="Every file of this import could be read (the others are quarantined with a reason).",
            )
        ],
        description="Activity files (FIT, GPX, TCX, Strava/Garmin export zips) from MYRUNSTREAK_IMPORT_DIR, "
        "stored as runs with data_source = the file format; a run SmashRun also has counts once "
        "(run_duplicates).",
    )
    def activity_files(context: dg.AssetExecutionContext, storage: DuckDBStorage):
        items = list_import_dir(settings)
        zone = settings.timezone or machine_zone_name()

        def progress(done: int, total: int) -> None:
            if done == total or done % 500 == 0:
                log_progress(context, f"activity files: {done}/{total} read")

        # One writer for the whole import, each batch its own transaction: opening the database per batch would
        # re-create the views and checkpoint every time (measured: 71 s instead of ~50 s for 3,650 GPX files).
        # On S3 that is one download and one conditional publish; a conflict fails the step, and the re-run skips
        # every file already stored.
        summary = None
        if items:
            with storage.writer() as db:  # migrated: a database from before v004 gets activity_files first
                repo = RunRepository(db.connection)
                summary = import_files(
                    items,
                    repo.store_activity_files,
                    known=frozenset(repo.all_file_hashes()),  # skipped before parsing, as `myrunstreak import` does
                    default_zone=zone,
                    counted_sports=settings.streak_sports_list,
                    progress=progress,
                )
        summary = summary or ImportSummary()
        log_progress(
            context,
            f"activity files from {settings.import_dir or '(MYRUNSTREAK_IMPORT_DIR unset)'}: "
            + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in summary.as_dict().items()),
        )
        yield dg.MaterializeResult(
            metadata={
                "import_dir": settings.import_dir or "(unset)",
                **summary.as_dict(),
                "quarantine_reasons": dg.MetadataValue.json([list(q) for q in summary.quarantined[:20]]),
                **storage.publish_metadata(),
            }
        )
        yield dg.AssetCheckResult(
            check_name="activity_files_readable",
            passed=not summary.quarantined,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"quarantined": len(summary.quarantined), "files": summary.files},
        )

    return activity_files


def build_import_job():
    return dg.define_asset_job(
        "import_files_job",
        selection=dg.AssetSelection.assets(ACTIVITY_FILES).downstream(),
        executor_def=dg.in_process_executor,
        description="Activity files from MYRUNSTREAK_IMPORT_DIR → runs → analytics.",
    )


def build_import_sensor(job, settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="activity_files_arrived",
        job=job,
        minimum_interval_seconds=IMPORT_SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING if settings.import_dir else dg.DefaultSensorStatus.STOPPED,
        description="Lists MYRUNSTREAK_IMPORT_DIR (names and sizes) and requests an import when files arrived "
        "or changed.",
    )
    def activity_files_arrived(context: dg.SensorEvaluationContext):
        if not settings.import_dir:
            return dg.SkipReason("MYRUNSTREAK_IMPORT_DIR is not set")
        try:
            items = list_import_dir(settings)
        except MyRunStreakError as error:
            return dg.SkipReason(f"cannot list {settings.import_dir}: {error}")
        if not items:
            return dg.SkipReason(f"no activity files in {settings.import_dir}")
        fingerprint = listing_fingerprint(items)
        if fingerprint == context.cursor:
            return dg.SkipReason(f"no new files in {settings.import_dir} ({len(items)} listed)")
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"files:{fingerprint[:16]}")], cursor=fingerprint)

    return activity_files_arrived
