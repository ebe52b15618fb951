"""Milestones over the whole history (the ``milestones`` view) and the card's next milestone, checked against
oracles built here from first principles in plain Python (hidden-answer style): a seeded random history with
gaps, days below the mile, a day saved only by summing two short runs, a deleted run, and a Feb 29 start.
Nothing below reuses the SQL: days are summed in Decimal metres, streaks are walked day by day, anniversaries
come from ``datetime`` (Feb 29 -> Mar 1 in a common year), and the Eddington number is re-derived after every day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
from collections import defaultdict
from decimal import Decimal

import dagster as dg
import pytest

from myrunstreak_pipeline.analytics import format_card, format_card_markdown, streak_card, streak_report
from myrunstreak_pipeline.analytics.milestones import milestones, next_milestones
from myrunstreak_pipeline.analytics.rule import set_streak_rule
from myrunstreak_pipeline.cli import streak as streak_cli
from myrunstreak_pipeline.definitions import build_defs
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline_tests.fixtures.analytics import AnalyticsDB, run

D = dt.date
DAY = dt.timedelta(days=1)
MILE_KM = Decimal("1.609344")
STREAK_DAYS = [100, 365, 500, 1000, 2000, 5000, 10000, 15000, 20000]
LIFETIME_KM = [1000, 5000, 10000, 20000, 25000, 40075, 50000, 100000, 384400]
COVERED = [100, 200, 300, 365, 366]
START = D(2016, 2, 29)  # a Feb 29 start: its anniversary in a common year is Mar 1


# ---------------------------------------------------------------------------------------------------- the history


def build_history(seed: int = 1409) -> tuple[list[dict], dict[D, list[int]]]:
    """Runs (fixture dicts) and, for the oracle, each local date's counted run distances in metres.

    2016-02-29: a 2,100-day streak (one or two runs a day); a gap day (only a deleted 50 km run); one lone day;
    a day of exactly 1,609 m (short of a mile); a 420-day streak with a day of two 900 m runs (a mile only when
    summed); a day of short runs only; then 400 days where the runner runs on about 60 % of the days."""
    rng = random.Random(seed)
    runs: list[dict] = []
    counted: dict[D, list[int]] = defaultdict(list)
    serial = iter(range(1, 10**6))

    def add(day: D, metres: int, *, deleted: bool = False, hour: int = 7) -> None:
        start = dt.datetime.combine(day, dt.time(hour, rng.randrange(60)))
        runs.append(run(start, metres / 1000, activity_id=f"h{next(serial)}", deleted=deleted))
        if not deleted:
            counted[day].append(metres)

    def ordinary_day(day: D) -> None:
        add(day, rng.randint(1700, 26000) if rng.random() > 0.02 else rng.randint(30000, 45000))
        if rng.random() < 0.25:
            add(day, rng.randint(1000, 9000), hour=18)

    day = START
    for _ in range(2100):
        ordinary_day(day)
        day += DAY
    add(day, 50000, deleted=True)  # the gap day: a deleted run never counts
    day += DAY
    ordinary_day(day)  # a lone day
    day += DAY
    add(day, 1609)  # 1,609 m < one mile: breaks the streak, but it is a day with a run
    day += DAY
    for n in range(420):
        if n == 200:
            add(day, 900)
            add(day, 900, hour=19)  # 1,800 m summed: qualifies in 'sum' mode, not in 'strict'
        else:
            ordinary_day(day)
        day += DAY
    add(day, 800)  # short runs only
    add(day, 700, hour=19)
    day += DAY
    for _ in range(400):
        if rng.random() < 0.6:
            ordinary_day(day)
        day += DAY
    return runs, dict(counted)


RUNS, COUNTED = build_history()


# ---------------------------------------------------------------------------------------------------- the oracles


def day_km(metres: list[int]) -> Decimal:
    return sum((Decimal(m) for m in metres), Decimal(0)) / 1000


def qualifies(metres: list[int], mode: str) -> bool:
    if mode == "sum":
        return day_km(metres) >= MILE_KM
    return Decimal(max(metres)) / 1000 >= MILE_KM


def oracle_streaks(mode: str) -> list[tuple[D, D]]:
    """(start, end) of every run of consecutive qualifying dates, walking the calendar one day at a time."""
    streaks, start, previous = [], None, None
    for day in sorted(d for d, metres in COUNTED.items() if qualifies(metres, mode)):
        if previous is None or day != previous + DAY:
            if start is not None:
                streaks.append((start, previous))
            start = day
        previous = day
    if start is not None:
        streaks.append((start, previous))
    return streaks


def anniversary(start: D, years: int) -> D:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # Feb 29 in a common year: Mar 1
        return D(start.year + years, 3, 1)


def oracle_milestones(mode: str) -> set[tuple]:
    """(kind, threshold, reached_on, streak_start) of every milestone reached."""
    found = set()
    for start, end in oracle_streaks(mode):
        length = (end - start).days + 1
        for n in STREAK_DAYS:
            if length >= n:
                found.add(("streak_days", n, start + dt.timedelta(days=n - 1), start))
        years = 1
        while anniversary(start, years) - DAY <= end:  # year n is complete the day before the n-th anniversary
            found.add(("streak_years", years, anniversary(start, years) - DAY, start))
            years += 1
    total, km_left = Decimal(0), list(LIFETIME_KM)
    at_least = defaultdict(int)  # E -> days so far with >= E km
    eddington = 0
    month_days: set[tuple[int, int]] = set()
    for day in sorted(COUNTED):
        km = day_km(COUNTED[day])
        total += km
        while km_left and total >= km_left[0]:
            found.add(("lifetime_km", km_left.pop(0), day, None))
        for e in range(1, int(km) + 1):
            at_least[e] += 1
        while at_least[eddington + 1] >= eddington + 1:  # the Eddington number of the history up to this day
            eddington += 1
            found.add(("eddington_km", eddington, day, None))
        if (day.month, day.day) not in month_days:
            month_days.add((day.month, day.day))
            if len(month_days) in COVERED:
                found.add(("days_of_year", len(month_days), day, None))
    return found


def oracle_next_distance(today: D) -> tuple[int, Decimal, D]:
    """(next lifetime threshold, km to go, the day it falls at the last 28 days' average from tomorrow on)."""
    total = sum((day_km(m) for d, m in COUNTED.items() if d <= today), Decimal(0))
    recent = sum((day_km(m) for d, m in COUNTED.items() if today - dt.timedelta(days=27) <= d <= today), Decimal(0))
    threshold = next(km for km in LIFETIME_KM if km > total)
    to_go = threshold - total
    return threshold, to_go, today + dt.timedelta(days=math.ceil(to_go / (recent / 28)))


# ---------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    db = AnalyticsDB(tmp_path_factory.mktemp("milestones") / "history.duckdb")
    db.add(*RUNS)
    try:
        yield db
    finally:
        db.con.close()


def view_milestones(db: AnalyticsDB) -> set[tuple]:
    rows = db.rows("SELECT kind, threshold, reached_on, streak_start FROM milestones")
    assert len(rows) == len(set(rows))  # each milestone once
    return set(rows)


# ---------------------------------------------------------------------------------------------------- tests


def test_the_history_has_what_the_oracles_need():
    streaks = oracle_streaks("sum")
    assert streaks[0] == (START, START + dt.timedelta(days=2099))
    assert sorted(e - s for s, e in streaks)[-2].days + 1 == 420  # the second streak survives the summed day
    assert len(oracle_streaks("strict")) > len(streaks)  # ... which strict mode breaks
    found = {(kind, n) for kind, n, *_ in oracle_milestones("sum")}
    assert {("lifetime_km", 40075), ("days_of_year", 366), ("streak_days", 2000), ("streak_years", 5)} <= found
    assert sum(kind == "eddington_km" for kind, *_ in found) >= 20


@pytest.mark.parametrize("mode", ["sum", "strict"])
def test_every_milestone_matches_the_oracle(history, mode):
    set_streak_rule(history.con, 1.609344, mode)
    try:
        assert view_milestones(history) == oracle_milestones(mode)
    finally:
        set_streak_rule(history.con, 1.609344, "sum")


def test_feb_29_start_and_labels(history):
    listed = history.dicts("SELECT * FROM milestones")
    rows = {(r["kind"], r["threshold"]): r for r in listed if r["streak_start"] in (None, START)}  # the first streak
    assert {r["streak_start"] for r in listed if r["kind"] == "streak_years" and r["threshold"] == 1} == {
        START,
        START + dt.timedelta(days=2103),  # the 420-day streak also completed a year
    }
    one_year = rows[("streak_years", 1)]
    assert one_year["reached_on"] == D(2017, 2, 28)  # 2016-02-29 .. 2017-02-28 = 1 year 0 days (streak-rules §1.4)
    assert (one_year["label"], one_year["streak_start"]) == ("1 year", START)
    assert one_year["streak_end"] == START + dt.timedelta(days=2099)
    assert rows[("streak_years", 4)]["reached_on"] == D(2020, 2, 28)  # the 4th anniversary is a real Feb 29
    assert rows[("streak_years", 5)]["label"] == "5 years"
    assert rows[("streak_days", 1000)]["label"] == "1,000 days"
    assert rows[("lifetime_km", 40075)]["label"] == "40,075 km (around the Earth)"
    assert rows[("lifetime_km", 40075)]["lifetime_km"] >= 40075
    assert rows[("days_of_year", 366)]["reached_on"] == D(2017, 2, 28)  # Feb 29 came first, Feb 28 last
    assert rows[("days_of_year", 366)]["label"] == "all 366 days of the year (Feb 29 included)"
    assert rows[("eddington_km", 7)]["label"] == "Eddington number 7"
    listed = milestones(history.con)
    assert [r["reached_on"] for r in listed] == sorted(r["reached_on"] for r in listed)
    assert {(r["kind"], r["threshold"], r["reached_on"], r["streak_start"]) for r in listed} == view_milestones(history)


def test_short_and_deleted_days_never_count(analytics_db):
    first = D(2020, 1, 1)
    analytics_db.add(*(run(first + dt.timedelta(days=n), 2.0, activity_id=f"s{n}") for n in range(150) if n != 49))
    analytics_db.add(run(first + dt.timedelta(days=49), 1.609, activity_id="short"))  # 1,609 m: not a mile
    analytics_db.add(run(first + dt.timedelta(days=200), 900.0, activity_id="gone", deleted=True))
    assert analytics_db.rows(
        "SELECT kind, threshold, reached_on, streak_start FROM milestones WHERE kind <> "
        "'eddington_km' AND kind <> 'days_of_year'"
    ) == [
        ("streak_days", 100, first + dt.timedelta(days=149), first + dt.timedelta(days=50))
    ]  # 298 km + 1.609 km: no 1,000 km (the deleted 900 km never counts)


def test_future_days_are_ignored(analytics_db):
    later = D.today() + dt.timedelta(days=30)
    analytics_db.add(run(later, 2000.0))
    assert analytics_db.rows("SELECT * FROM milestones") == []


def test_empty_database(analytics_db):
    assert analytics_db.rows("SELECT * FROM milestones") == []
    assert next_milestones(analytics_db.con, D(2024, 1, 1), None, None) == {
        "streak": None,
        "distance": {
            "label": "1,000 km",
            "threshold": 1000,
            "km_to_go": 1000.0,
            "on": None,
            "average_km_per_day": 0.0,
            "average_days": 28,
        },
    }


@pytest.mark.parametrize("days_in", [1, 99, 100, 364, 366, 999, 1461, 1462, 2000])
def test_next_milestone_of_the_current_streak(history, days_in):
    today = START + dt.timedelta(days=days_in - 1)
    card = streak_card(history.con, today)
    assert card["current"]["days"] == days_in
    upcoming = card["next_milestones"]["streak"]
    # the oracle: the first day count or completed year after today
    candidates = [(START + dt.timedelta(days=n - 1), 1, f"{n:,} days") for n in STREAK_DAYS if n > days_in]
    years = 1
    while anniversary(START, years) - DAY <= today:
        years += 1
    candidates.append((anniversary(START, years) - DAY, 0, f"{years} year{'s' if years > 1 else ''}"))
    on, _, label = min(candidates)
    assert (upcoming["label"], upcoming["on"]) == (label, on.isoformat())
    assert f"  Next milestone : {label} on {on.isoformat()} (if the streak holds)" in format_card(card).splitlines()
    assert f"| Next milestone | {label} on {on.isoformat()} (if the streak holds) |" in format_card_markdown(card)


def test_next_milestone_when_at_risk_and_broken(history):
    gap = START + dt.timedelta(days=2100)  # the gap day: the 2,100-day streak is at risk (not broken) until it ends
    risky = streak_card(history.con, gap)
    assert (risky["current"]["status"], risky["current"]["days"]) == ("at_risk", 2100)
    assert risky["next_milestones"]["streak"] == {
        "kind": "streak_years",
        "label": "6 years",
        "threshold": 6,
        "on": "2022-02-28",  # the 6th anniversary is Mar 1 (2022 is a common year): complete the day before
    }
    broken = streak_card(history.con, max(COUNTED) + 3 * DAY)
    assert broken["current"]["status"] == "broken"
    assert broken["next_milestones"]["streak"] is None
    assert "Next milestone" not in format_card(broken)
    assert "Next distance" in format_card(broken)


def test_a_tie_goes_to_the_year(analytics_db):
    first = D(2021, 3, 1)
    analytics_db.add(*(run(first + dt.timedelta(days=n), 3.0, activity_id=f"t{n}") for n in range(300)))
    upcoming = next_milestones(analytics_db.con, first + dt.timedelta(days=299), first, first + dt.timedelta(days=299))
    assert upcoming["streak"] == {"kind": "streak_years", "label": "1 year", "threshold": 1, "on": "2022-02-28"}


@pytest.mark.parametrize("days_in", [40, 700, 2100, 2600, 2900])
def test_next_distance_milestone(history, days_in):
    today = START + dt.timedelta(days=days_in)
    threshold, to_go, on = oracle_next_distance(today)
    card = streak_card(history.con, today)
    distance = card["next_milestones"]["distance"]
    assert (distance["threshold"], distance["on"]) == (threshold, on.isoformat())
    assert distance["km_to_go"] == pytest.approx(float(to_go), abs=1e-6)
    line = next(x for x in format_card(card).splitlines() if x.startswith("  Next distance  : "))
    assert f"on {on.isoformat()}" in line and "the last 28 days' average" in line


def test_streak_json_carries_no_milestones(history):
    today = START + dt.timedelta(days=500)
    report = streak_report(history.con, today)
    assert "next_milestones" not in report
    card = streak_card(history.con, today)
    assert {k: v for k, v in card.items() if k not in ("next_milestones", "today", "distance_km")} == {
        **report,
        "current": {**report["current"], "years_days": card["current"]["years_days"]},
    }


def test_milestones_is_an_asset_of_the_graph(tmp_path, monkeypatch):
    db = AnalyticsDB(tmp_path / "graph.duckdb")
    db.add(*(run(D(2020, 1, 1) + dt.timedelta(days=n), 3.0, activity_id=f"g{n}") for n in range(400)))
    db.con.close()
    for name in ("MYRUNSTREAK_STREAK_MIN_KM", "MYRUNSTREAK_STREAK_MODE", "MYRUNSTREAK_DAY_POLICY"):
        monkeypatch.delenv(name, raising=False)  # the default rule: one mile, summed, activity-local days
    monkeypatch.setenv("MYRUNSTREAK_DB", str(db.path))
    defs = build_defs(Settings.from_env())
    assets_def = defs.resolve_assets_def("milestones")
    assert assets_def is defs.resolve_assets_def("current_streak")  # one step refreshes every view
    spec = next(s for s in assets_def.specs if s.key.to_user_string() == "milestones")
    assert spec.group_name == "analytics" and spec.description.startswith("Milestones over the whole history")
    graph = defs.get_repository_def().asset_graph
    assert "milestones" in {key.to_user_string() for key in graph.get_all_asset_keys()}

    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(asset_selection=list(assets_def.keys), instance=dg.DagsterInstance.ephemeral())
    assert result.success
    events = {e.asset_key.to_user_string(): e.materialization for e in result.get_asset_materialization_events()}
    # 400 days from 2020-01-01: 100 and 365 days, 1 year, 1,000 km, Eddington 1..3, 100..366 days of the year
    assert events["milestones"].metadata["dagster/row_count"].value == 2 + 1 + 1 + 3 + 5
    card = events["current_streak"].metadata["streak_card"].value  # as of the real today: that streak is over
    assert "Next milestone" not in card
    assert "| Next distance | 5,000 km (3,800.0 km to go; no runs in the last 28 days) |" in card


def test_lifetime_distance_is_exact(analytics_db):
    # three runs of 333.333 + 333.333 + 333.334 km: exactly 1,000 km in decimal (not in binary floating point)
    analytics_db.add(*(run(D(2020, 5, d), km, activity_id=f"x{d}") for d, km in ((1, 333.333), (2, 333.333))))
    analytics_db.add(run(D(2020, 5, 3), 333.333, activity_id="short"))
    assert analytics_db.rows("SELECT count(*) FROM milestones WHERE kind = 'lifetime_km'") == [(0,)]  # 999.999
    analytics_db.add(run(D(2020, 5, 4), 0.001, activity_id="last-metre"))
    assert analytics_db.rows("SELECT threshold, reached_on FROM milestones WHERE kind = 'lifetime_km'") == [
        (1000, D(2020, 5, 4))
    ]


def test_days_of_the_year_are_month_days(analytics_db):
    # Mar 1 .. Jun 7 of a common year (99 dates), then Feb 29: the 100th date, although day-of-year 60 again
    first = D(2015, 3, 1)
    analytics_db.add(*(run(first + dt.timedelta(days=n), 0.5, activity_id=f"y{n}") for n in range(99)))
    analytics_db.add(run(D(2016, 2, 29), 0.5, activity_id="leap"), run(D(2016, 3, 1), 0.5, activity_id="again"))
    assert analytics_db.rows("SELECT label, reached_on FROM milestones WHERE kind = 'days_of_year'") == [
        ("100 days of the year", D(2016, 2, 29))
    ]


def test_the_cli_card_shows_it_and_json_does_not(tmp_path, monkeypatch, capsys):
    for name in ("MYRUNSTREAK_DB", "MYRUNSTREAK_TIMEZONE", "MYRUNSTREAK_STREAK_MIN_KM", "MYRUNSTREAK_STREAK_MODE"):
        monkeypatch.delenv(name, raising=False)
    today = D(2026, 11, 26)
    first = today - dt.timedelta(days=998)  # 999 days through today
    db = AnalyticsDB(tmp_path / "cli.duckdb")
    db.add(*(run(first + dt.timedelta(days=n), 2.0, activity_id=f"c{n}") for n in range(999)))
    report = streak_report(db.con, today)
    db.con.close()

    def streak(*argv: str) -> str:
        parser = argparse.ArgumentParser(prog="myrunstreak streak")
        streak_cli.add_arguments(parser)
        assert streak_cli.command(parser.parse_args(["--db", str(db.path), "--today", today.isoformat(), *argv])) == 0
        return capsys.readouterr().out

    card = streak()
    assert "  Next milestone : 1,000 days on 2026-11-27 (if the streak holds)" in card.splitlines()
    # 1,998 km run; 3,002 km to go at 2 km a day = 1,501 days after today
    assert "  Next distance  : 5,000 km on 2031-01-05 (3,002.0 km to go at 2.00 km/day, the last 28 days' average)" in (
        card.splitlines()
    )
    assert json.loads(streak("--json")) == report  # the --json contract carries no milestone
    assert "milestone" not in streak("--json")
