"""The summary, records, trends and Eddington views on a small hand-built history with exact expectations."""

from __future__ import annotations

import datetime as dt

import pytest

from myrunstreak_pipeline.analytics import set_streak_rule
from myrunstreak_pipeline_tests.fixtures.analytics import daily_history, run

D = dt.date
approx = pytest.approx


@pytest.fixture
def history(analytics_db):
    """Six local days of runs around a year boundary and a leap day, plus one deleted run."""
    analytics_db.add(
        run("2023-12-30T08:00:00+01:00", 5.0, seconds=1500, heart_rate=150, elevation_gain_m=10.0, activity_id="A"),
        run("2023-12-31T09:00:00+01:00", 10.0, seconds=3000, heart_rate=160, elevation_gain_m=20.0, activity_id="B"),
        run("2023-12-31T18:00:00+01:00", 2.0, seconds=0, activity_id="C"),  # manual entry: no time
        run("2024-01-01T10:00:00+01:00", 21.0975, seconds=6329.25, heart_rate=140, treadmill=True, activity_id="D"),
        run("2024-01-02T10:00:00+01:00", 100.0, seconds=30000, deleted=True, activity_id="deleted"),
        run("2024-01-03T07:00:00+01:00", 1.0, seconds=240, heart_rate=170, activity_id="E"),
        run("2024-01-03T19:00:00+01:00", 0.5, seconds=150, heart_rate=150, activity_id="F"),
        run("2024-02-29T08:00:00+01:00", 42.195, seconds=12658.5, activity_id="G"),
        run("2025-02-28T08:00:00+01:00", 6.0, seconds=1620, heart_rate=155, activity_id="H"),
    )
    return analytics_db


def test_daily_summary(history):
    rows = {row["day"]: row for row in history.dicts("SELECT * FROM daily_summary")}
    assert sorted(rows) == [
        D(2023, 12, 30),
        D(2023, 12, 31),
        D(2024, 1, 1),
        D(2024, 1, 3),
        D(2024, 2, 29),
        D(2025, 2, 28),
    ]
    two_runs = rows[D(2023, 12, 31)]
    assert two_runs == {
        "day": D(2023, 12, 31),
        "run_count": 2,
        "total_km": 12.0,
        "total_seconds": 3000.0,
        "avg_pace_min_per_km": 5.0,  # the zero-duration run is left out of the pace
        "avg_heart_rate": 160.0,
        "first_run_at": dt.datetime(2023, 12, 31, 9),
        "last_run_at": dt.datetime(2023, 12, 31, 18),
        "longest_run_km": 10.0,
        "longest_run_activity_id": "B",
        "elevation_gain_m": 20.0,
        "treadmill_runs": 0,
        "qualifies": True,
        "sum_qualifies": True,
        "strict_qualifies": True,
    }
    short_day = rows[D(2024, 1, 3)]
    assert short_day["total_km"] == 1.5 and short_day["run_count"] == 2 and short_day["total_seconds"] == 390.0
    assert short_day["avg_pace_min_per_km"] == approx(390 / 60 / 1.5)
    assert short_day["avg_heart_rate"] == approx((170 * 240 + 150 * 150) / 390)  # duration-weighted
    assert (short_day["qualifies"], short_day["sum_qualifies"], short_day["strict_qualifies"]) == (False, False, False)
    assert rows[D(2024, 1, 1)]["treadmill_runs"] == 1 and rows[D(2024, 1, 1)]["qualifies"] is True
    assert rows[D(2024, 2, 29)]["avg_heart_rate"] is None


def test_weekly_summary_uses_iso_weeks_starting_monday(history):
    rows = history.dicts(
        "SELECT iso_year, iso_week, week_start, week_end, total_km, run_count, days_run, "
        "qualifying_days, longest_run_activity_id FROM weekly_summary"
    )
    assert rows[0] == {
        "iso_year": 2023,
        "iso_week": 52,
        "week_start": D(2023, 12, 25),
        "week_end": D(2023, 12, 31),
        "total_km": 17.0,
        "run_count": 3,
        "days_run": 2,
        "qualifying_days": 2,
        "longest_run_activity_id": "B",
    }
    assert rows[1] == {
        "iso_year": 2024,
        "iso_week": 1,
        "week_start": D(2024, 1, 1),
        "week_end": D(2024, 1, 7),
        "total_km": approx(22.5975),
        "run_count": 3,
        "days_run": 2,
        "qualifying_days": 1,
        "longest_run_activity_id": "D",
    }
    assert [(r["iso_year"], r["iso_week"], r["week_start"]) for r in rows[2:]] == [
        (2024, 9, D(2024, 2, 26)),
        (2025, 9, D(2025, 2, 24)),
    ]


def test_monthly_summary(history):
    rows = history.dicts("SELECT * FROM monthly_summary")
    assert [(r["year"], r["month"], r["month_start"]) for r in rows] == [
        (2023, 12, D(2023, 12, 1)),
        (2024, 1, D(2024, 1, 1)),
        (2024, 2, D(2024, 2, 1)),
        (2025, 2, D(2025, 2, 1)),
    ]
    december = rows[0]
    assert december == {
        "year": 2023,
        "month": 12,
        "month_start": D(2023, 12, 1),
        "total_km": 17.0,
        "run_count": 3,
        "total_seconds": 4500.0,
        "avg_pace_min_per_km": 5.0,
        "avg_heart_rate": approx((150 * 1500 + 160 * 3000) / 4500),
        "longest_run_km": 10.0,
        "longest_run_activity_id": "B",
        "days_run": 2,
        "qualifying_days": 2,
        "strict_qualifying_days": 2,
        "elevation_gain_m": 30.0,
    }
    january = rows[1]
    assert january["total_km"] == approx(22.5975) and january["days_run"] == 2 and january["qualifying_days"] == 1
    assert january["avg_pace_min_per_km"] == approx((6329.25 + 390) / 60 / 22.5975)


def test_yearly_summary(history):
    rows = history.rows(
        "SELECT year, total_km, run_count, days_run, qualifying_days, longest_run_activity_id FROM yearly_summary"
    )
    assert rows == [(2023, 17.0, 3, 2, 2, "B"), (2024, approx(64.7925), 4, 3, 2, "G"), (2025, 6.0, 1, 1, 1, "H")]


def test_summaries_follow_the_stored_rule(history):
    set_streak_rule(history.con, 11.0, "sum")
    assert history.rows("SELECT month_start, qualifying_days, strict_qualifying_days FROM monthly_summary") == [
        (D(2023, 12, 1), 1, 0),
        (D(2024, 1, 1), 1, 1),
        (D(2024, 2, 1), 1, 1),
        (D(2025, 2, 1), 0, 0),
    ]
    set_streak_rule(history.con, 11.0, "strict")
    assert history.rows("SELECT qualifying_days FROM monthly_summary") == [(0,), (1,), (1,), (0,)]


def test_personal_records(history):
    rows = history.rows("SELECT * FROM personal_records")
    assert rows == [
        ("longest_run", 42.195, "km", D(2024, 2, 29), D(2024, 2, 29), "G"),
        ("longest_day", 42.195, "km", D(2024, 2, 29), D(2024, 2, 29), "G"),
        ("fastest_pace_5k_plus", 4.5, "min/km", D(2025, 2, 28), D(2025, 2, 28), "H"),
        ("fastest_5k", 4.5, "min/km", D(2025, 2, 28), D(2025, 2, 28), "H"),
        ("fastest_10k", 5.0, "min/km", D(2023, 12, 31), D(2023, 12, 31), "B"),
        ("fastest_half_marathon", 5.0, "min/km", D(2024, 1, 1), D(2024, 1, 1), "D"),
        ("fastest_marathon", 5.0, "min/km", D(2024, 2, 29), D(2024, 2, 29), "G"),
        ("most_runs_in_a_day", 2.0, "runs", D(2023, 12, 31), D(2023, 12, 31), None),
        ("biggest_week", 42.195, "km", D(2024, 2, 26), D(2024, 3, 3), None),
        ("biggest_month", 42.195, "km", D(2024, 2, 1), D(2024, 2, 29), None),
        ("biggest_year", approx(64.7925), "km", D(2024, 1, 1), D(2024, 12, 31), None),
        ("longest_streak", 3.0, "days", D(2023, 12, 30), D(2024, 1, 1), None),
    ]


def test_pace_records_ignore_zero_duration_runs(analytics_db):
    analytics_db.add(
        run(D(2024, 1, 1), 12.0, seconds=0, activity_id="manual"),
        run(D(2024, 1, 2), 10.0, seconds=3300, activity_id="timed"),
    )
    rows = analytics_db.rows("SELECT record, value, activity_id FROM personal_records WHERE unit = 'min/km'")
    assert rows == [("fastest_pace_5k_plus", 5.5, "timed"), ("fastest_10k", 5.5, "timed")]


def test_distance_trends_dense_calendar(history):
    rows = {row["day"]: row for row in history.dicts("SELECT * FROM distance_trends")}
    assert len(rows) == 2 + 366 + 59 and min(rows) == D(2023, 12, 30) and max(rows) == D(2025, 2, 28)
    rest_day = rows[D(2024, 1, 2)]  # only a deleted run that day
    assert rest_day == {
        "day": D(2024, 1, 2),
        "km": 0.0,
        "run_count": 0,
        "rolling_7d_km": approx(38.0975),
        "rolling_28d_km": approx(38.0975),
        "rolling_365d_km": approx(38.0975),
        "month_to_date_km": approx(21.0975),
        "year_to_date_km": approx(21.0975),
        "previous_year_to_date_km": None,
    }
    assert rows[D(2024, 1, 6)]["rolling_7d_km"] == approx(12 + 21.0975 + 1.5)  # Dec 31 .. Jan 6
    assert rows[D(2024, 1, 7)]["rolling_7d_km"] == approx(21.0975 + 1.5)
    assert rows[D(2024, 1, 6)]["rolling_28d_km"] == approx(5 + 12 + 21.0975 + 1.5)
    assert rows[D(2024, 12, 29)]["rolling_365d_km"] == approx(12 + 64.7925)  # Dec 31, 2023 .. Dec 29, 2024
    assert rows[D(2024, 12, 30)]["rolling_365d_km"] == approx(64.7925)
    assert rows[D(2024, 12, 31)]["previous_year_to_date_km"] == 17.0
    assert rows[D(2025, 2, 28)]["year_to_date_km"] == 6.0
    assert rows[D(2025, 2, 28)]["previous_year_to_date_km"] == approx(22.5975)  # through Feb 28, 2024
    assert rows[D(2024, 3, 1)]["month_to_date_km"] == 0.0 and rows[D(2024, 3, 1)]["year_to_date_km"] == approx(64.7925)


def test_monthly_distance_trends(history):
    rows = {row["month_start"]: row for row in history.dicts("SELECT * FROM monthly_distance_trends")}
    assert len(rows) == 15
    assert rows[D(2024, 3, 1)] == {
        "month_start": D(2024, 3, 1),
        "total_km": 0.0,
        "run_count": 0,
        "days_run": 0,
        "avg_km_per_day": 0.0,
        "avg_km_per_run": None,
        "rolling_12_month_km": approx(17 + 22.5975 + 42.195),
        "same_month_previous_year_km": None,
    }
    assert rows[D(2024, 2, 1)]["avg_km_per_day"] == approx(42.195 / 29)
    assert rows[D(2024, 1, 1)]["avg_km_per_run"] == approx(22.5975 / 3)
    assert rows[D(2024, 12, 1)]["rolling_12_month_km"] == approx(64.7925)
    assert rows[D(2024, 12, 1)]["same_month_previous_year_km"] == 17.0
    assert rows[D(2025, 2, 1)]["same_month_previous_year_km"] == 42.195


def test_year_to_date_comparison(history):
    rows = history.rows("SELECT * FROM year_to_date_comparison_as_of(DATE '2025-02-28')")
    assert rows == [
        (2023, "02-28", 0.0, 0, 17.0),
        (2024, "02-28", approx(22.5975), 3, approx(64.7925)),
        (2025, "02-28", 6.0, 1, 6.0),
    ]
    leap_day = history.rows("SELECT year, year_to_date_km FROM year_to_date_comparison_as_of(DATE '2024-02-29')")
    assert leap_day == [(2023, 0.0), (2024, approx(64.7925))]  # runs after the as-of date are not counted


def test_eddington(history):
    assert history.rows("SELECT * FROM eddington") == [("km", 5, 6, 4, 2), ("mi", 3, 4, 3, 1)]


def test_eddington_thresholds_are_exact(analytics_db):
    # three days of exactly 3 miles -> E(mi) = 3; 1,609 m short of 4 miles does not count for 4
    analytics_db.add(*(run(D(2024, 1, d), 4.828032, activity_id=f"m{d}") for d in (1, 2, 3)))
    analytics_db.add(run(D(2024, 1, 4), 6.436376 - 0.000001, activity_id="short"))
    assert analytics_db.rows("SELECT * FROM eddington WHERE unit = 'mi'") == [("mi", 3, 4, 0, 4)]


def test_views_on_an_empty_database(analytics_db):
    for view in (
        "daily_summary",
        "weekly_summary",
        "monthly_summary",
        "yearly_summary",
        "personal_records",
        "distance_trends",
        "monthly_distance_trends",
        "year_to_date_comparison",
        "streak_analysis",
        "streak_audit",
        "milestones",
    ):
        assert analytics_db.rows(f"SELECT * FROM {view}") == [], view
    assert analytics_db.rows("SELECT * FROM eddington") == [("km", 0, 1, 0, 1), ("mi", 0, 1, 0, 1)]
    assert analytics_db.rows("SELECT status, days FROM current_streak") == [("broken", 0)]


def test_long_history_views(analytics_db):
    analytics_db.add(*daily_history(D(1970, 1, 1), 20000, km=5.0, runs_per_day=2))
    last = D(1970, 1, 1) + dt.timedelta(days=19999)
    assert analytics_db.rows("SELECT count(*), sum(run_count), max(day) FROM daily_summary") == [(20000, 40000, last)]
    assert analytics_db.rows(
        "SELECT count(*), min(days_run) FROM monthly_summary WHERE month_start < DATE '2024-10-01'"
    ) == [(657, 28)]
    assert analytics_db.rows("SELECT * FROM eddington") == [("km", 10, 11, 0, 11), ("mi", 6, 7, 0, 7)]
    assert analytics_db.rows("SELECT rolling_365d_km FROM distance_trends WHERE day = ?", [last]) == [(3650.0,)]
    assert analytics_db.rows(
        "SELECT value, start_date, end_date FROM personal_records WHERE record = 'longest_streak'"
    ) == [(20000.0, D(1970, 1, 1), last)]
