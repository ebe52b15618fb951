"""Yearly partitions on the run's LOCAL calendar year (Dagster spends ~40 ms of bookkeeping per
partition, so ~58 yearly partitions keep a 55-year backfill near Dagster's floor; monthly would not)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from myrunstreak_pipeline.settings import Settings


def yearly_partitions(settings: Settings) -> dg.TimeWindowPartitionsDefinition:
    """Keys from the year of MYRUNSTREAK_HISTORY_START … the current year. ``end_offset=1`` adds the
    still-running year (today's runs land in it); the time zone makes "the current year" the runner's local
    year for the schedule."""
    return dg.TimeWindowPartitionsDefinition(
        start=dt.datetime(settings.history_start_year, 1, 1),
        cron_schedule="0 0 1 1 *",
        fmt="%Y",
        end_offset=1,
        timezone=settings.timezone or "UTC",
    )


def window_dates(window: dg.TimeWindow) -> tuple[dt.date, dt.date]:
    """A partition (range) window as local calendar dates ``[start, end_exclusive)``."""
    return window.start.date(), window.end.date()


def covers_whole_history(partitions: dg.TimeWindowPartitionsDefinition, window: dg.TimeWindow) -> bool:
    """True when ``window`` spans every partition (then ONE unpaged listing call serves the whole run)."""
    keys = partitions.get_partition_keys()
    first = partitions.time_window_for_partition_key(keys[0])
    last = partitions.time_window_for_partition_key(keys[-1])
    return window.start <= first.start and window.end >= last.end
