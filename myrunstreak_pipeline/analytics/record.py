"""The streak record (``myrunstreak streak --record``): every day of the current streak (or the streak current on a
chosen date) with its runs, distance, the rule applied, the zone used and any override - the evidence a registry or
a doubting friend asks for - and a one-page summary in the form the USRSA streak registry lists streaks (name,
start date, days, "X years Y days", location).

``streak_record`` builds one plain dict; ``record_csv``, ``record_json`` and ``record_markdown`` print it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from myrunstreak_pipeline.analytics.report import days_text, streak_report
from myrunstreak_pipeline.analytics.rule import resolve_rule
from myrunstreak_pipeline.sql import load_sql

__all__ = ["CSV_COLUMNS", "NO_NAME", "NO_LOCATION", "record_csv", "record_json", "record_markdown", "streak_record"]

NO_NAME = "(name not set)"
NO_LOCATION = "(location not set)"
CSV_COLUMNS = (
    "day",
    "day_km",
    "qualifies",
    "sum_check",
    "strict_check",
    "zone_used",
    "activity_id",
    "source",
    "start_local",
    "run_km",
    "override_km",
    "override_reason",
    "override_by",
)
POLICY_TEXT = {"activity_local": "each run's own local start", "home_zone": "the home zone"}


def _rows(cursor) -> list[dict]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _iso(value) -> str | None:
    return None if value is None else value.isoformat()


def _local_start(start: dt.datetime, offset_minutes: int | None) -> str:
    """The run's own local start with its offset (``2024-03-08T08:00:00+13:00``): the evidence as recorded."""
    if offset_minutes is None:
        return start.isoformat()
    return start.replace(tzinfo=dt.timezone(dt.timedelta(minutes=int(offset_minutes)))).isoformat()


def streak_record(
    con,
    today: dt.date,
    *,
    runner_name: str | None = None,
    runner_location: str | None = None,
    min_km: float | None = None,
    mode: str | None = None,
) -> dict:
    """``{"summary": {...}, "days": [...]}`` for the streak current on the local date ``today``. A broken streak
    has ``summary.days`` 0 and no days."""
    rule = resolve_rule(con, min_km, mode)
    report = streak_report(con, today, rule.min_km, rule.mode)
    current = report["current"]
    summary = {
        "name": runner_name or NO_NAME,
        "start": current["start"],
        "days": current["days"],
        "years_days": "0 years 0 days",
        "location": runner_location or NO_LOCATION,
        "end": current["end"],
        "as_of": report["as_of"],
        "status": current["status"],
        "rule": {
            **rule.as_dict(),
            "day_policy": rule.day_policy,
            "midnight_both_days": rule.midnight_both_days,
        },
        "override_days": current["override_days"],
    }
    if current["status"] == "broken":
        return {"summary": summary, "days": []}
    params = {"first_day": dt.date.fromisoformat(current["start"]), "last_day": dt.date.fromisoformat(current["end"])}
    summary["years_days"] = con.execute(load_sql("queries/record/years_days.sql"), params).fetchone()[0]
    runs_by_day: dict[dt.date, list[dict]] = {}
    for run in _rows(con.execute(load_sql("queries/record/runs.sql"), params)):
        runs_by_day.setdefault(run["day"], []).append(
            {
                "activity_id": run["activity_id"],
                "source": run["source"],
                "start_local": _local_start(run["start_local"], run["utc_offset_minutes"]),
                "km": float(run["km"]),
                "zone_used": run["zone_used"],
                "counts_for_its_start_day": bool(run["is_primary"]),
            }
        )
    params |= {"min_km": rule.min_km, "mode": rule.mode}
    days = []
    for row in _rows(con.execute(load_sql("queries/record/days.sql"), params)):
        override = None
        if row["override_km"] is not None:
            override = {
                "km": float(row["override_km"]),
                "reason": row["override_reason"],
                "by": row["override_by"],
                "at_utc": _iso(row["override_at"]),
            }
        days.append(
            {
                "day": row["day"].isoformat(),
                "km": float(row["km"]),
                "qualifies": bool(row["qualifies"]),
                "checks": {"sum": bool(row["sum_qualifies"]), "strict": bool(row["strict_qualifies"])},
                "rests_on_override": bool(row["rests_on_override"]),
                "zone_used": row["zone_used"],
                "override": override,
                "runs": runs_by_day.get(row["day"], []),
            }
        )
    return {"summary": summary, "days": days}


def record_json(record: dict) -> str:
    return json.dumps(record, indent=1)


def _km(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def record_csv(record: dict) -> str:
    """One row per (day, run), a header first; a day without runs (an override) is one row with no run."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for day in record["days"]:
        override = day["override"] or {}
        flags = [day["qualifies"], day["checks"]["sum"], day["checks"]["strict"]]
        common = [day["day"], _km(day["km"]), *(str(flag).lower() for flag in flags)]
        tail = [_km(override.get("km")), override.get("reason", ""), override.get("by", "")]
        for run in day["runs"] or [None]:
            if run is None:
                writer.writerow([*common, day["zone_used"], "", "", "", "", *tail])
            else:
                run_cells = [run["activity_id"], run["source"], run["start_local"], _km(run["km"])]
                writer.writerow([*common, run["zone_used"], *run_cells, *tail])
    return out.getvalue().rstrip("\n")


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _start_text(start_local: str) -> str:
    """``2024-03-08 08:00 +13:00`` from the ISO form."""
    return f"{start_local[:16].replace('T', ' ')} {start_local[19:]}".rstrip()


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def no_streak_text(record: dict) -> str:
    summary = record["summary"]
    return f"no current streak as of {summary['as_of']} (status: broken): there is no streak to record"


def registry_summary(record: dict) -> list[str]:
    """The one-page summary: the registry's row (name, start date, days, years and days, location), the dates, the
    rule and how many days rest on an override."""
    s, rule = record["summary"], record["summary"]["rule"]
    lines = [
        f"# Run streak record: {_cell(s['name'])}",
        "",
        "| Name | Streak start | Days | Years and days | Location |",
        "|---|---|---|---|---|",
        f"| {_cell(s['name'])} | {s['start']} | {s['days']:,} | {s['years_days']} | {_cell(s['location'])} |",
        "",
        f"- Streak: {days_text(s['days'], s['years_days'])}, {s['start']} .. {s['end']} "
        f"(status on {s['as_of']}: {s['status'].replace('_', ' ')})",
        f"- Rule: at least {_km(rule['min_km'])} km on every local calendar day, {rule['mode']} mode "
        f"({'the day' + chr(39) + 's runs add up' if rule['mode'] == 'sum' else 'one run reaches it alone'}); "
        f"a day is dated by {POLICY_TEXT.get(rule['day_policy'], rule['day_policy'])}"
        f"{', a run across midnight counts for both days' if rule['midnight_both_days'] else ''}, "
        "travel days by the zone the runner chose",
    ]
    n = s["override_days"]
    lines.append(
        f"- Overrides: {n:,} day{'' if n == 1 else 's'} of this streak {'rests' if n == 1 else 'rest'} on an override"
        if n
        else "- Overrides: none; every day rests on recorded runs"
    )
    return lines


def record_markdown(record: dict) -> str:
    """The summary, then one table row per day."""
    if record["summary"]["status"] == "broken":
        return no_streak_text(record)
    lines = [
        *registry_summary(record),
        "",
        "## Days",
        "",
        "| Day | km | Qualifies (sum / strict) | Zone used | Runs | Override |",
        "|---|---|---|---|---|---|",
    ]
    for day in record["days"]:
        runs = "; ".join(
            f"{run['activity_id']} ({run['source']}, {_start_text(run['start_local'])}, {run['km']:.2f} km)"
            for run in day["runs"]
        )
        override = day["override"]
        override_text = f"{override['km']:g} km: {override['reason']} (by {override['by']})" if override else ""
        checks = day["checks"]
        lines.append(
            f"| {day['day']} | {day['km']:.2f} | {_yes(day['qualifies'])} ({_yes(checks['sum'])} / "
            f"{_yes(checks['strict'])}) | {_cell(day['zone_used'])} | {_cell(runs) or '-'} | {_cell(override_text)} |"
        )
    return "\n".join(lines)
