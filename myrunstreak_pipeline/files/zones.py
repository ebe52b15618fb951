"""The runner's local time of an activity: from the file, else from the first GPS point's zone, else a default.

Order (recorded per activity as ``zone_source``):

1. ``file``: the file states the local time (FIT ``activity.local_timestamp``; a GPX/TCX timestamp written with
   a non-UTC offset). A stated ``Z``/UTC stamp is *not* a local hint: every GPX/TCX exporter writes ``Z``.
2. ``gps``: the IANA zone at the first GPS fix, looked up offline (timezonefinder's bundled polygons); the
   offset is that zone's offset at the start instant (DST-correct).
3. ``default``: the configured default zone (an IANA name), for files with neither.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from myrunstreak_pipeline.files.errors import ActivityFileError
from myrunstreak_pipeline.models.bounds import MAX_UTC_OFFSET_MINUTES

_QUARTER_HOUR = 15 * 60


@cache
def _finder():  # built once per process: loading the polygons takes a few ms and some memory
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def zone_at(lat: float, lon: float) -> str | None:
    """The IANA zone name at a point (offline), or None (open sea without an Etc zone, bad coordinates)."""
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    try:
        return _finder().timezone_at(lat=lat, lng=lon)
    except ValueError:
        return None


def stated_offset(local_minus_utc_seconds: float) -> timedelta | None:
    """A file's local-minus-UTC difference rounded to the quarter hour; None when it is not a plausible offset."""
    rounded = round(local_minus_utc_seconds / _QUARTER_HOUR) * _QUARTER_HOUR
    if abs(rounded) > MAX_UTC_OFFSET_MINUTES * 60:
        return None
    return timedelta(seconds=rounded)


def default_zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ActivityFileError(f"unknown default time zone {name!r}", name="<settings>") from None


def resolve_local(
    start_utc: datetime,
    file_offset: timedelta | None,
    first_fix: tuple[float, float] | None,
    default_zone: str,
) -> tuple[datetime, str, str | None]:
    """(aware local start, zone_source, zone name or None) for an aware UTC ``start_utc``."""
    if file_offset is not None:
        return start_utc.astimezone(timezone(file_offset)), "file", None
    if first_fix is not None:
        name = zone_at(*first_fix)
        if name is not None:
            try:
                return start_utc.astimezone(ZoneInfo(name)), "gps", name
            except ZoneInfoNotFoundError:
                pass
    return start_utc.astimezone(default_zone_info(default_zone)), "default", default_zone
