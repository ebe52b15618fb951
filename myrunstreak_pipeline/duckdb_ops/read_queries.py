"""``RunQueries``: the read methods the query API needs, mixed into ``RunRepository`` (SQL in sql/queries/api/).

Every method only reads ``self.connection`` (a read-only connection is enough) and returns plain Python values
(dates, floats, dicts) in the shapes of design.md §6. Keyset paging of runs: newest first on
(start_date_time_local, activity_id); ``encode_cursor`` / ``decode_cursor`` make the opaque cursor.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Any

from myrunstreak_pipeline.sql import load_sql

KM_PER_MILE = 1.609344
SUMMARY_PERIODS = ("daily", "weekly", "monthly", "yearly")
MAX_PAGE = 500


def _rows(cursor: Any) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _offset_text(minutes: int | None) -> str | None:
    if minutes is None:
        return None
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(int(minutes)), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


RUN_FIELDS = (
    "activity_id",
    "start_local",
    "date",
    "utc_offset",
    "km",
    "miles",
    "seconds",
    "pace_min_per_km",
    "activity_type",
    "is_treadmill",
    "source",
    "notes",
    "weather",
    "terrain",
    "how_felt",
    "heart_rate_average",
    "calories",
    "updated_utc",
)


def _run(row: dict[str, Any]) -> dict[str, Any]:
    """A run object of design.md §6 (its fields in the documented order), then any extra columns of ``row``."""
    values = {**row, "utc_offset": _offset_text(row.get("utc_offset_minutes"))}
    values.pop("utc_offset_minutes", None)
    return {**{name: values.pop(name) for name in RUN_FIELDS}, **values}


def encode_cursor(start_local: dt.datetime, activity_id: str) -> str:
    """The opaque ``next`` cursor: base64url of the last run's (start local date-time, activity id)."""
    raw = json.dumps([start_local.isoformat(), activity_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """``encode_cursor``'s inverse; ValueError on anything it did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        start, activity_id = json.loads(raw)
        if not isinstance(activity_id, str) or not isinstance(start, str):
            raise ValueError
        return dt.datetime.fromisoformat(start), activity_id
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ValueError("not a cursor this API returned") from None


class RunQueries:
    """Read methods over ``self.connection`` (set by the class it is mixed into)."""

    connection: Any

    def database_health(self) -> dict[str, Any]:
        """``{"schema_version", "runs", "last_sync_utc"}``."""
        return _rows(self.connection.execute(load_sql("queries/api/health.sql")))[0]

    def list_streaks(
        self, today: dt.date, min_km: float, mode: str, *, min_days: int = 1, limit: int = 100, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Streaks through ``today`` longest first (one page) and how many there are in all."""
        params = {"today": today, "min_km": min_km, "mode": mode, "min_days": min_days}
        rows = _rows(
            self.connection.execute(load_sql("queries/api/streaks.sql"), {**params, "limit": limit, "skip": offset})
        )
        if rows:
            total = int(rows[0]["total"])
        else:
            total = int(self.connection.execute(load_sql("queries/api/streak_total.sql"), params).fetchone()[0])
        for row in rows:
            del row["total"]
        return rows, total

    def runs_page(
        self,
        *,
        from_date: dt.date | None = None,
        to_date: dt.date | None = None,
        limit: int = 100,
        after: tuple[dt.datetime, str] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of live runs, newest first, and the cursor of the next page (None on the last one)."""
        after_start, after_id = after if after else (None, None)
        rows = _rows(
            self.connection.execute(
                load_sql("queries/api/runs_page.sql"),
                {
                    "from_date": from_date,
                    "to_date": to_date,
                    "after_start": after_start,
                    "after_id": after_id,
                    "limit": limit + 1,  # one more tells whether there is a next page
                },
            )
        )
        items = [_run(row) for row in rows[:limit]]
        cursor = encode_cursor(items[-1]["start_local"], items[-1]["activity_id"]) if len(rows) > limit else None
        return items, cursor

    def run_detail(self, activity_id: str) -> dict[str, Any] | None:
        """One live run with ``details_fetched``, ``laps`` and ``recording`` (None when unknown or deleted)."""
        rows = _rows(self.connection.execute(load_sql("queries/api/run_detail.sql"), {"run_id": activity_id}))
        if not rows or rows[0]["deleted"]:
            return None
        row = rows[0]
        points, has_gps, has_hr, has_recording = (
            row.pop(key) for key in ("points", "has_gps", "has_heart_rate", "has_recording")
        )
        del row["deleted"]
        run = _run(row)
        run["details_fetched"] = bool(run["details_fetched"])
        if run["details_fetched"]:
            laps = self.connection.execute(load_sql("queries/api/run_laps.sql"), {"activity_id": activity_id})
            run["laps"] = _rows(laps)
        else:
            run["laps"] = None
        run["recording"] = (
            {"points": int(points), "has_gps": bool(has_gps), "has_heart_rate": bool(has_hr)} if has_recording else None
        )
        return run

    def summaries(
        self, period: str, *, from_date: dt.date | None = None, to_date: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """The rows of ``<period>_summary`` (period one of ``SUMMARY_PERIODS``) in ``[from_date, to_date]``."""
        if period not in SUMMARY_PERIODS:
            raise ValueError(f"unknown summary period {period!r}")
        sql = load_sql(f"queries/api/summaries_{period}.sql")
        return _rows(self.connection.execute(sql, {"from_date": from_date, "to_date": to_date}))

    def personal_records(self) -> list[dict[str, Any]]:
        return _rows(self.connection.execute(load_sql("queries/api/personal_records.sql")))

    def trends(self, today: dt.date) -> dict[str, Any]:
        """The ``distance_trends`` row of ``today`` (or the last day with runs before it), plus ``years``."""
        rows = _rows(self.connection.execute(load_sql("queries/api/trends.sql"), {"today": today}))
        row = rows[0] if rows else {}
        trend = {
            "day": row.get("day"),
            "rolling_7d_km": 0.0,
            "rolling_28d_km": 0.0,
            "rolling_365d_km": 0.0,
            "month_to_date_km": 0.0,
            "year_to_date_km": 0.0,
            "previous_year_to_date_km": None,
        }
        trend.update({key: value for key, value in row.items() if key not in ("km", "run_count")})
        years = self.connection.execute(load_sql("queries/api/trends_years.sql"), {"today": today})
        trend["years"] = _rows(years)
        return trend

    def eddington_numbers(self) -> dict[str, dict[str, int]]:
        """``{"km": {"number", "next", "days_needed"}, "miles": {...}}`` from the ``eddington`` view."""
        rows = self.connection.execute(load_sql("queries/api/eddington.sql")).fetchall()
        found = {unit: {"number": n, "next": nxt, "days_needed": need} for unit, n, nxt, need in rows}
        empty = {"number": 0, "next": 1, "days_needed": 1}
        return {"km": found.get("km", empty), "miles": found.get("mi", empty)}
