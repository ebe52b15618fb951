"""The runner's "today": a local calendar date in their IANA zone (a streak day is a local day)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from myrunstreak_pipeline.errors import MyRunStreakError


def local_today(timezone: str | None = None) -> dt.date:
    """Today in ``timezone`` (an IANA name, e.g. MYRUNSTREAK_TIMEZONE), else the machine's local date."""
    if not timezone:
        return dt.date.today()
    try:
        return dt.datetime.now(ZoneInfo(timezone)).date()
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise MyRunStreakError(
            f"unknown time zone {timezone!r}",
            hint="set MYRUNSTREAK_TIMEZONE to an IANA name such as 'Europe/London' or 'America/New_York'",
        ) from error


def machine_zone_name() -> str:
    """The machine's IANA zone name (from /etc/localtime), or 'UTC' when it cannot be told: for dating an
    activity file that states no zone and has no GPS when MYRUNSTREAK_TIMEZONE is unset."""
    from pathlib import Path

    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return "UTC"
    marker = "/zoneinfo/"
    if marker in target:
        name = target.split(marker, 1)[1]
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return "UTC"
