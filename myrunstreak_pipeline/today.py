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
