"""The evening "not yet today" reminder (issue 14 item 5), as plain Python: is a reminder due, and its text.

From ``MYRUNSTREAK_REMIND_AT`` in the runner's zone (``MYRUNSTREAK_TIMEZONE``, else the zone stored with the
rule, else the machine's), a day that does not qualify yet under the stored rule is reminded of only while the
streak is ``at_risk`` (streak-rules §1.5: yesterday qualified; a broken streak has nothing to save). Today's
distance is what the database already counts for today plus the runs SmashRun lists for today that the database
does not hold yet (by activity id: ``sql/queries/reminder/today_status.sql``). The Dagster sensor
(``defs/reminder.py``) asks SmashRun and posts (``analytics/notify.py``); everything here is testable alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql
from myrunstreak_pipeline.today import machine_zone_name

MILE_KM = 1.609344


@dataclass(frozen=True)
class PendingRun:
    """A run SmashRun lists for today (the database may not hold it yet)."""

    activity_id: str
    km: float
    sport: str


@dataclass(frozen=True)
class TodayStatus:
    day: dt.date
    status: str  # the database's view of the streak: active | at_risk | broken
    streak_days: int  # at_risk: the streak through yesterday
    min_km: float
    mode: str
    stored_km: float  # what the database counts for today
    pending_km: float  # SmashRun's runs of today that the database does not hold yet
    pending_runs: int
    today_km: float
    qualifies: bool  # today qualifies, the pending runs included
    needed_km: float  # still to run today (0 once it qualifies)

    @property
    def remind(self) -> bool:
        """Remind only a streak still alive (at_risk) whose day does not count yet."""
        return self.status == "at_risk" and not self.qualifies


def runner_zone(configured: str | None, stored: str | None) -> str:
    """The zone "today" and REMIND_AT are read in: MYRUNSTREAK_TIMEZONE, else the rule's stored zone, else the
    machine's."""
    return configured or stored or machine_zone_name()


def local_now(now_utc: dt.datetime, zone: str) -> dt.datetime:
    try:
        return now_utc.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise MyRunStreakError(
            f"unknown time zone {zone!r}", hint="set MYRUNSTREAK_TIMEZONE to an IANA name such as 'Europe/London'"
        ) from error


def is_due(local: dt.datetime, remind_at: tuple[int, int]) -> bool:
    """From REMIND_AT (inclusive) until local midnight."""
    return (local.hour, local.minute) >= remind_at


def local_midnight_epoch(day: dt.date, zone: str) -> float:
    """The instant the local day began (what SmashRun's ``fromDateUTC`` takes): runs of today were uploaded
    after it."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(zone)).timestamp()


def activity_day(payload: dict[str, Any], day_policy: str, zone: str | None) -> dt.date | None:
    """The day a listed SmashRun activity counts for: its own local date (``activity_local``) or the date of its
    start in the home zone (``home_zone``). Travel days (``myrunstreak travel``) are applied once it is synced."""
    text = payload.get("startDateTimeLocal")
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        if day_policy == "home_zone" and zone:
            start = dt.datetime.fromisoformat(text)
            if start.tzinfo is not None:
                return start.astimezone(ZoneInfo(zone)).date()
        return dt.date.fromisoformat(text[:10])
    except (ValueError, ZoneInfoNotFoundError):
        return None


def pending_runs(
    activities: Iterable[dict[str, Any]], day: dt.date, day_policy: str, zone: str | None
) -> list[PendingRun]:
    """The listed activities that count for ``day`` (SmashRun distances are km)."""
    runs = []
    for payload in activities:
        distance = payload.get("distance")
        if activity_day(payload, day_policy, zone) != day or not isinstance(distance, (int, float)):
            continue
        sport = payload.get("activityType")
        runs.append(PendingRun(str(payload.get("activityId")), float(distance), str(sport or "running").lower()))
    return runs


def today_status(con, day: dt.date, min_km: float, mode: str, pending: Iterable[PendingRun] = ()) -> TodayStatus:
    """The streak and ``day``'s progress: the database's runs plus ``pending`` ones it does not hold yet."""
    pending = list(pending)
    row = con.execute(
        load_sql("queries/reminder/today_status.sql"),
        {
            "today": day,
            "min_km": min_km,
            "mode": mode,
            "pending_ids": [run.activity_id for run in pending],
            "pending_km": [run.km for run in pending],
            "pending_sports": [run.sport for run in pending],
        },
    ).fetchone()
    status, days, stored_km, pending_km, pending_count, today_km, qualifies, needed_km = row
    return TodayStatus(
        day=day,
        status=status,
        streak_days=int(days or 0),
        min_km=float(min_km),
        mode=mode,
        stored_km=float(stored_km),
        pending_km=float(pending_km),
        pending_runs=int(pending_count),
        today_km=float(today_km),
        qualifies=bool(qualifies),
        needed_km=float(needed_km),
    )


def miles_label(km: float) -> str:
    """``1 mile``, ``2 miles``, else ``0.62 mi``."""
    miles = km / MILE_KM
    whole = round(miles)
    if whole >= 1 and abs(miles - whole) < 1e-6:
        return "1 mile" if whole == 1 else f"{whole} miles"
    return f"{miles:.2f} mi"


def reminder_message(status: TodayStatus) -> str:
    """E.g. "Not yet today: 0.60 of 1.61 km (1 mile) — 1.01 km (0.63 mi) to go to keep your 1,234-day streak"."""
    goal = f"{status.min_km:.2f} km ({miles_label(status.min_km)})"
    keep = f"to keep your {status.streak_days:,}-day streak"
    if status.mode == "strict":
        return f"Not yet today: no single run of {goal} yet ({status.today_km:.2f} km so far) — run {goal} {keep}"
    to_go = f"{status.needed_km:.2f} km ({status.needed_km / MILE_KM:.2f} mi)"
    return f"Not yet today: {status.today_km:.2f} of {goal} — {to_go} to go {keep}"
