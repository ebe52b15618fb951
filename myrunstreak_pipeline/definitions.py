"""The one Dagster code location: ``defs`` (lazy; ``dg check defs``, ``dagster dev -w workspace.yaml``).

``build_defs(settings, resources=...)`` builds the whole graph from explicit settings; tests and
``myrunstreak run`` / ``demo`` use it so the partitions and the schedule follow the environment they set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from myrunstreak_pipeline.defs.analytics import build_analytics_assets, build_calendar_asset
from myrunstreak_pipeline.defs.automation import build_change_sensor, build_daily_schedule, build_sync_job
from myrunstreak_pipeline.defs.details import build_details_assets
from myrunstreak_pipeline.defs.files import build_file_import_asset, build_import_job, build_import_sensor
from myrunstreak_pipeline.defs.ingest import build_ingest_assets
from myrunstreak_pipeline.defs.partitions import yearly_partitions
from myrunstreak_pipeline.defs.reminder import build_reminder_job, build_reminder_sensor
from myrunstreak_pipeline.defs.resources import DuckDBStorage, SmashRunResource
from myrunstreak_pipeline.settings import Settings


def build_defs(settings: Settings | None = None, *, resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    partitions = yearly_partitions(settings)
    job = build_sync_job()
    import_job = build_import_job()
    reminder_job = build_reminder_job(settings)
    return dg.Definitions(
        assets=[
            build_ingest_assets(partitions, settings),
            build_details_assets(),
            build_file_import_asset(settings),
            build_analytics_assets(settings),
            build_calendar_asset(settings),
        ],
        jobs=[job, import_job, reminder_job],
        schedules=[build_daily_schedule(job, partitions, settings)],
        sensors=[
            build_change_sensor(job, partitions),
            build_import_sensor(import_job, settings),
            build_reminder_sensor(reminder_job, settings),
        ],
        resources={
            "smashrun": SmashRunResource.from_settings(settings),
            "storage": DuckDBStorage.from_settings(settings),
            **(resources or {}),
        },
        executor=dg.in_process_executor,  # also for UI-launched asset runs: one process writes DuckDB
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_defs()
