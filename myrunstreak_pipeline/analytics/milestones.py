"""Milestones over the whole history (the ``milestones`` view) and the next ones (the streak card).

milestones(con) -> list[dict]                                  every milestone reached, in date order
next_milestones(con, today, streak_start, streak_end) -> dict  the current streak's and the distance's next
milestone_lines(card) -> list[tuple[str, str]]                 (label, text) pairs for the cards
"""

from __future__ import annotations

import datetime as dt

from myrunstreak_pipeline.sql import load_sql

__all__ = ["milestone_lines", "milestones", "next_milestones"]

AVERAGE_DAYS = 28  # the projection of the next distance milestone uses the average of this many days


def _dicts(cursor) -> list[dict]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def milestones(con) -> list[dict]:
    """Every milestone reached (kind, label, threshold, reached_on, streak_start, streak_end, lifetime_km)."""
    return _dicts(con.execute(load_sql("queries/milestones/all.sql")))


def next_milestones(con, today: dt.date, streak_start: dt.date | None, streak_end: dt.date | None) -> dict:
    """The next milestone of the current streak (``streak_start`` .. ``streak_end``; ``None`` when broken) and
    of the lifetime distance as of the local ``today``, with the date each falls on if the streak holds.

    ``{"streak": {"kind", "label", "threshold", "on"} | None,
       "distance": {"label", "threshold", "km_to_go", "on", "average_km_per_day", "average_days"} | None}``.
    The distance date assumes the average daily km of the last 28 days (through ``today``) from tomorrow on;
    ``on`` is None when that average is 0.
    """
    cursor = con.execute(
        load_sql("queries/milestones/next.sql"),
        {"today": today, "streak_start": streak_start, "streak_end": streak_end},
    )
    row = _dicts(cursor)[0]
    streak = None
    if row["streak_kind"] is not None:
        streak = {
            "kind": row["streak_kind"],
            "label": row["streak_label"],
            "threshold": int(row["streak_threshold"]),
            "on": row["streak_falls_on"].isoformat(),
        }
    distance = None
    if row["distance_label"] is not None:
        on = row["distance_falls_on"]
        distance = {
            "label": row["distance_label"],
            "threshold": int(row["distance_threshold"]),
            "km_to_go": round(float(row["distance_km_to_go"]), 3),
            "on": on.isoformat() if on is not None else None,
            "average_km_per_day": round(float(row["average_km_28_days"]), 3),
            "average_days": AVERAGE_DAYS,
        }
    return {"streak": streak, "distance": distance}


def milestone_lines(card: dict) -> list[tuple[str, str]]:
    """The card's lines for ``card["next_milestones"]``: ``("Next milestone", "1,000 days on 2027-03-04 (if the
    streak holds)")`` and ``("Next distance", "10,000 km on … (at 12.30 km/day, the last 28 days' average)")``."""
    upcoming = card.get("next_milestones") or {}
    lines = []
    streak = upcoming.get("streak")
    if streak:
        lines.append(("Next milestone", f"{streak['label']} on {streak['on']} (if the streak holds)"))
    distance = upcoming.get("distance")
    if distance:
        to_go = f"{distance['km_to_go']:,.1f} km to go"
        if distance["on"]:
            text = (
                f"{distance['label']} on {distance['on']} ({to_go} at {distance['average_km_per_day']:,.2f} km/day, "
                f"the last {distance['average_days']} days' average)"
            )
        else:
            text = f"{distance['label']} ({to_go}; no runs in the last {distance['average_days']} days)"
        lines.append(("Next distance", text))
    return lines
