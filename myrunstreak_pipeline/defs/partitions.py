"""Yearly partitions on the run's LOCAL calendar year (design.md section 3: ~40 ms of Dagster bookkeeping per
partition, so ~58 yearly partitions keep a 55-year backfill near Dagster's floor; monthly would not)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from myrunstreak_pipeline.errors import MyRunStreakError

DEFAULT_HISTORY_START = "1970-01-01"


def history_start_year(history_start: str | None) -> int:
    """The first partition's year: MYRUNSTREAK_HISTORY_START (YYYY-MM-DD) floored to January 1st."""
    text = history_start or DEFAULT_HISTORY_START
    try:
        return dt.date.fromisoformat(text).year
    except ValueError:
        raise MyRunStreakError(
            f"MYRUNSTREAK_HISTORY_START is not a date: {text!r}",
            hint="use YYYY-MM-DD, e.g. 1970-01-01 (the year of your first run is enough)",
        ) from None


def yearly_partitions(history_start: str | None, timezone: str | None) -> dg.TimeWindowPartitionsDefinition:
    """Keys "1970" … the current year. ``end_offset=1`` adds the still-running year (today's runs land in it);
    ``timezone`` makes "the current year" the runner's local year for the schedule."""
    year = history_start_year(history_start)
    return dg.TimeWindowPartitionsDefinition(
        start=dt.datetime(year, 1, 1),
        cron_schedule="0 0 1 1 *",
        fmt="%Y",
        end_offset=1,
        timezone=timezone or "UTC",
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


def year_key(day: dt.date | str) -> str:
    """The partition key of a local date (a date or 'YYYY-MM-DD…' string)."""
    return str(day)[:4]
