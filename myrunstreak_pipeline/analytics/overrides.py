"""A streaker's hand-kept days: overrides (a day that counts with a distance no source recorded: a lost watch file,
a race without a device) with their audit trail, and travel days (the Washburne rule: on a date-line day runs count
by the calendar of the zone left or entered).

Plain functions on a DuckDB connection. Overrides live in ``day_overrides``, never in ``runs``; every change also
writes one ``override_audit`` row, in the same transaction. A bad value is a ``MyRunStreakError`` (one line and a
hint) before anything is written.
"""

from __future__ import annotations

import datetime as dt
import getpass
import math
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql

MAX_OVERRIDE_KM = 2000.0
MAX_REASON_CHARS = 500
TRAVEL_SIDES = ("departure", "arrival")
NO_REMOVAL_REASON = "(no reason given)"

__all__ = [
    "MAX_OVERRIDE_KM",
    "MAX_REASON_CHARS",
    "TRAVEL_SIDES",
    "add_override",
    "get_override",
    "get_travel_day",
    "list_override_audit",
    "list_overrides",
    "list_travel_days",
    "remove_override",
    "remove_travel_day",
    "set_travel_day",
    "who_is",
]


def who_is(runner_name: str | None) -> str:
    """Who makes a change: MYRUNSTREAK_RUNNER_NAME, else the operating-system user."""
    if runner_name:
        return runner_name
    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "unknown"


def _now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def check_reason(reason: str | None, *, flag: str = "--reason", required: bool = True) -> str | None:
    """A reason: printable text of 1 to 500 characters (runs of whitespace become one space)."""
    if reason is None and not required:
        return None
    text = " ".join((reason or "").split())
    if not text:
        raise MyRunStreakError(f"{flag} is blank", hint=f"say why, e.g. {flag} 'watch lost, race results online'")
    if len(text) > MAX_REASON_CHARS or not text.isprintable():
        raise MyRunStreakError(
            f"{flag} must be printable text of at most {MAX_REASON_CHARS} characters (got {len(text)})",
            hint="shorten the reason; keep the details elsewhere and give a reference",
        )
    return text


def check_km(km: float) -> float:
    """An override's distance: a finite number of km, more than 0 and at most 2,000."""
    if isinstance(km, bool) or not isinstance(km, (int, float)) or not math.isfinite(km):
        raise MyRunStreakError(f"--km must be a number of km, got {km!r}", hint="e.g. --km 5 (five kilometres)")
    if not 0 < km <= MAX_OVERRIDE_KM:
        raise MyRunStreakError(
            f"--km must be more than 0 and at most {MAX_OVERRIDE_KM:,.0f} km, got {km:g}",
            hint="give the distance run that day in km (a mile is 1.609344 km)",
        )
    return float(km)


def check_not_future(day: dt.date, today: dt.date) -> None:
    if day > today:
        raise MyRunStreakError(
            f"{day} is after today ({today}, the runner's local date): an override is for a day already run",
            hint="give a past date or today's (YYYY-MM-DD); today follows MYRUNSTREAK_TIMEZONE",
        )


def _row(cursor) -> dict | None:
    names = [column[0] for column in cursor.description]
    row = cursor.fetchone()
    return None if row is None else dict(zip(names, row))


def _rows(cursor) -> list[dict]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _in_transaction(con, work):
    con.begin()
    try:
        result = work()
    except BaseException:
        con.rollback()
        raise
    con.commit()
    return result


def add_override(con, day: dt.date, km: float, reason: str, *, who: str, today: dt.date) -> str:
    """Add the override of ``day`` (or replace the one it has); one audit row. Returns 'add' or 'replace'."""
    check_not_future(day, today)
    km = check_km(km)
    reason = check_reason(reason)
    at = _now_utc()

    def work() -> str:
        action = "add" if get_override(con, day) is None else "replace"
        con.execute(
            load_sql("queries/overrides/upsert.sql"), {"day": day, "km": km, "reason": reason, "who": who, "at": at}
        )
        con.execute(
            load_sql("queries/overrides/audit_insert.sql"),
            {"action": action, "day": day, "km": km, "reason": reason, "who": who, "at": at},
        )
        return action

    return _in_transaction(con, work)


def remove_override(con, day: dt.date, reason: str | None, *, who: str) -> dict:
    """Remove the override of ``day``; one audit row (with the distance removed). Returns the removed override."""
    reason = check_reason(reason, required=False) or NO_REMOVAL_REASON
    at = _now_utc()

    def work() -> dict:
        existing = get_override(con, day)
        if existing is None:
            raise_no_override(day)
        con.execute(load_sql("queries/overrides/delete.sql"), {"day": day})
        con.execute(
            load_sql("queries/overrides/audit_insert.sql"),
            {"action": "remove", "day": day, "km": existing["km"], "reason": reason, "who": who, "at": at},
        )
        return existing

    return _in_transaction(con, work)


def get_override(con, day: dt.date) -> dict | None:
    """The override of ``day`` (day, km, reason, added_by, added_at), or None."""
    return _row(con.execute(load_sql("queries/overrides/get.sql"), {"day": day}))


def get_travel_day(con, day: dt.date) -> dict | None:
    """The travel day ``day`` (day, zone, side, reason, set_by, set_at), or None."""
    return _row(con.execute(load_sql("queries/travel/get.sql"), {"day": day}))


def list_overrides(con) -> list[dict]:
    """The current overrides (day, km, reason, added_by, added_at), oldest day first."""
    return _rows(con.execute(load_sql("queries/overrides/list.sql")))


def list_override_audit(con) -> list[dict]:
    """Every change to the overrides (audit_id, action, day, km, reason, done_by, done_at), oldest first."""
    return _rows(con.execute(load_sql("queries/overrides/audit_list.sql")))


def check_zone(zone: str) -> str:
    """An IANA zone name known to this machine (``Pacific/Auckland``, ``America/Los_Angeles``)."""
    name = zone.strip()
    try:
        if not name or name != zone or "/" not in name and name != "UTC":
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MyRunStreakError(
            f"--zone: unknown time zone {zone!r}",
            hint="give an IANA name such as 'Pacific/Auckland' or 'America/Los_Angeles'",
        ) from None
    return name


def set_travel_day(con, day: dt.date, zone: str, side: str, reason: str | None, *, who: str) -> str:
    """Set (or replace) the travel day ``day``: its runs count by the calendar of ``zone``, the zone the runner
    left (``departure``) or entered (``arrival``). Returns 'set' or 'replace'."""
    zone = check_zone(zone)
    if side not in TRAVEL_SIDES:
        raise MyRunStreakError(f"--side must be departure or arrival, got {side!r}", hint="e.g. --side arrival")
    reason = check_reason(reason, required=False)
    at = _now_utc()

    def work() -> str:
        action = "set" if get_travel_day(con, day) is None else "replace"
        con.execute(
            load_sql("queries/travel/upsert.sql"),
            {"day": day, "zone": zone, "side": side, "reason": reason, "who": who, "at": at},
        )
        return action

    return _in_transaction(con, work)


def remove_travel_day(con, day: dt.date) -> dict:
    """Forget the travel day ``day``; returns what it was."""

    def work() -> dict:
        existing = get_travel_day(con, day)
        if existing is None:
            raise_no_travel_day(day)
        con.execute(load_sql("queries/travel/delete.sql"), {"day": day})
        return existing

    return _in_transaction(con, work)


def raise_no_override(day: dt.date):
    raise MyRunStreakError(
        f"{day} has no override to remove", hint="see the days that have one with `myrunstreak override list`"
    )


def raise_no_travel_day(day: dt.date):
    raise MyRunStreakError(f"{day} is not a travel day", hint="see the travel days with `myrunstreak travel list`")


def list_travel_days(con) -> list[dict]:
    """Every travel day (day, zone, side, reason, set_by, set_at), oldest first."""
    return _rows(con.execute(load_sql("queries/travel/list.sql")))
