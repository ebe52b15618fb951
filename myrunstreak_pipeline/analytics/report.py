"""The streak report (``myrunstreak streak --json``) and the human-readable streak card."""

from __future__ import annotations

import datetime as dt

from myrunstreak_pipeline.analytics.milestones import milestone_lines, next_milestones
from myrunstreak_pipeline.analytics.rule import resolve_rule
from myrunstreak_pipeline.sql import load_sql
from myrunstreak_pipeline.today import local_today

__all__ = ["KM_PER_MILE", "format_card", "format_card_markdown", "local_today", "streak_card", "streak_report"]

KM_PER_MILE = 1.609344


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _report_row(con, today: dt.date, min_km, mode):
    rule = resolve_rule(con, min_km, mode)
    cursor = con.execute(
        load_sql("queries/analytics/streak_report.sql"), {"today": today, "min_km": rule.min_km, "mode": rule.mode}
    )
    names = [column[0] for column in cursor.description]
    return rule, dict(zip(names, cursor.fetchone()))


def _report_from_row(today: dt.date, rule, row: dict) -> dict:
    return {
        "as_of": today.isoformat(),
        "rule": rule.as_dict(),
        "current": {
            "days": int(row["current_days"]),
            "start": _iso(row["current_start"]),
            "end": _iso(row["current_end"]),
            "status": row["current_status"],
            "days_only_from_files": int(row["current_days_only_from_files"]),
            "override_days": int(row["current_override_days"]),
        },
        "longest": {
            "days": int(row["longest_days"]),
            "start": _iso(row["longest_start"]),
            "end": _iso(row["longest_end"]),
            "years_days": row["longest_years_days"],
            "override_days": int(row["longest_override_days"]),
        },
        "streak_count": int(row["streak_count"]),
    }


def streak_report(con, today: dt.date, min_km: float | None = None, mode: str | None = None) -> dict:
    """The ``myrunstreak streak --json`` object as of the local date ``today``.

    ``min_km``/``mode`` default to the rule stored in the database. Runs dated after ``today`` are ignored.
    ``current.days_only_from_files``: the current streak's days whose counted runs all came from activity files.
    ``current.override_days`` / ``longest.override_days``: the streak's days that qualify only thanks to an override
    (``myrunstreak override``).
    """
    rule, row = _report_row(con, today, min_km, mode)
    return _report_from_row(today, rule, row)


def streak_card(con, today: dt.date, min_km: float | None = None, mode: str | None = None) -> dict:
    """``streak_report`` plus what the card shows: current "X years Y days", today's distance, the distance
    still needed today to keep the streak, this week's / month's / year's distance, and the next streak and distance
    milestones (``next_milestones``: card only, never part of ``streak_report``)."""
    rule, row = _report_row(con, today, min_km, mode)
    cursor = con.execute(load_sql("queries/analytics/period_distance.sql"), {"today": today})
    week_km, month_km, year_km = cursor.fetchone()
    card = _report_from_row(today, rule, row)
    card["current"]["years_days"] = row["current_years_days"]
    card["today"] = {"km": float(row["today_km"]), "needed_km": float(row["needed_today_km"])}
    card["distance_km"] = {"week": float(week_km), "month": float(month_km), "year": float(year_km)}
    # card only (never in streak_report / --json): the next streak and distance milestones (analytics/milestones)
    card["next_milestones"] = next_milestones(con, today, row["current_start"], row["current_end"])
    return card


def _km(value: float) -> str:
    return f"{value:,.2f} km ({value / KM_PER_MILE:,.2f} mi)"


def days_text(days: int, years_days: str | None = None) -> str:
    """``1 day``, ``364 days``, ``366 days = 1 year 1 day``: the years form only once there is a year in it."""
    text = f"{days:,} day{'' if days == 1 else 's'}"
    if years_days and not years_days.startswith("0 years"):
        text += f" = {years_days}"
    return text


def _from_files_text(days: int) -> str:
    """``3 days of this streak come only from activity files`` (``1 day … comes``)."""
    verb = "comes" if days == 1 else "come"
    return f"{days:,} day{'' if days == 1 else 's'} of this streak {verb} only from activity files"


def _override_text(days: int) -> str:
    """``2 days of this streak rest on an override`` (``1 day … rests``)."""
    verb = "rests" if days == 1 else "rest"
    return f"{days:,} day{'' if days == 1 else 's'} of this streak {verb} on an override"


def format_card(card: dict) -> str:
    """The readable streak card printed by ``myrunstreak streak``."""
    current, longest, rule = card["current"], card["longest"], card["rule"]
    status = {"active": "active, today done", "at_risk": "AT RISK, run today", "broken": "broken"}[current["status"]]
    lines = [f"Streak card as of {card['as_of']}  (rule: {rule['min_km']:g} km per day, {rule['mode']} mode)"]
    if current["status"] == "broken":
        lines.append(f"  Current streak : 0 days ({status})")
    else:
        lines.append(
            f"  Current streak : {days_text(current['days'], current['years_days'])} ({status}), "
            f"since {current['start']}"
        )
    if current.get("days_only_from_files"):
        lines.append(f"  From files     : {_from_files_text(current['days_only_from_files'])}")
    if current.get("override_days"):
        lines.append(f"  Overrides      : {_override_text(current['override_days'])}")
    if longest["days"]:
        lines.append(
            f"  Longest streak : {days_text(longest['days'], longest['years_days'])}, "
            f"{longest['start']} .. {longest['end']}"
        )
    else:
        lines.append("  Longest streak : none yet")
    lines.append(f"  Streaks        : {card['streak_count']:,}")
    lines += [f"  {label:<15}: {text}" for label, text in milestone_lines(card)]
    today = card["today"]
    lines.append(f"  Today          : {_km(today['km'])}; still needed today: {_km(today['needed_km'])}")
    distance = card["distance_km"]
    lines.append(f"  This week      : {_km(distance['week'])}")
    lines.append(f"  This month     : {_km(distance['month'])}")
    lines.append(f"  This year      : {_km(distance['year'])}")
    return "\n".join(lines)


def format_card_markdown(card: dict) -> str:
    """The streak card as a small markdown table (the ``current_streak`` asset page shows it)."""
    current, longest, rule = card["current"], card["longest"], card["rule"]
    since = f" since {current['start']}" if current["start"] else ""
    from_files = current.get("days_only_from_files", 0)
    rows = [
        ("Current streak", f"**{days_text(current['days'])}** ({current['status']}){since}"),
        *([("From files", _from_files_text(from_files))] if from_files else []),
        *([("Overrides", _override_text(current["override_days"]))] if current.get("override_days") else []),
        (
            "Longest streak",
            f"{days_text(longest['days'], longest['years_days'])}, "
            f"{longest['start'] or '-'} .. {longest['end'] or '-'}",
        ),
        ("Streaks", f"{card['streak_count']:,}"),
        *milestone_lines(card),
        ("Today", f"{card['today']['km']:.2f} km; still needed {card['today']['needed_km']:.2f} km"),
        (
            "This week / month / year",
            " / ".join(f"{card['distance_km'][k]:,.1f} km" for k in ("week", "month", "year")),
        ),
        ("Rule", f"{rule['min_km']:g} km per local day, {rule['mode']} mode"),
    ]
    lines = [f"### Streak card as of {card['as_of']}", "", "| | |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    return "\n".join(lines)
