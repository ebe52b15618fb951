"""The run-streak rules (USRSA one-mile rule, local calendar day, grace until the day ends, "X years Y days") on
real DuckDB files with hand-built histories."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myrunstreak_pipeline.analytics import get_streak_rule, set_streak_rule, set_streak_rule_from_env, streak_report
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline_tests.fixtures.analytics import daily_history, run

MILE = 1.609344
HALF_MILE = 0.804672
D = dt.date


def streaks(db, min_km=MILE, mode="sum"):
    return db.rows("SELECT start_date, end_date, days, years_days FROM streaks(?, ?)", [min_km, mode])


def current(db, today, min_km=MILE, mode="sum"):
    return db.dicts("SELECT * FROM current_streak_as_of(?::DATE, ?, ?)", [today, min_km, mode])[0]


def qualifying(db, min_km=MILE, mode="sum"):
    return [row[0] for row in db.rows("SELECT day FROM qualifying_days(?, ?) ORDER BY day", [min_km, mode])]


# --- "X years Y days": worked examples, inclusive counting ----------------------------------------------------

WORKED_EXAMPLES = [
    ("2023-03-01", "2023-03-01", 1, "0 years 1 day"),
    ("2001-03-01", "2002-02-28", 365, "1 year 0 days"),
    ("2016-02-29", "2017-02-28", 366, "1 year 0 days"),  # anniversary of Feb 29 in a common year = Mar 1
    ("2016-02-29", "2020-02-29", 1462, "4 years 1 day"),
    ("1981-06-15", "2036-06-14", 20089, "55 years 0 days"),
    ("1981-06-15", "2036-06-15", 20090, "55 years 1 day"),
    ("1980-01-01", "2034-10-05", 20002, "54 years 278 days"),
]


@pytest.mark.parametrize(("start", "end", "days", "years_days"), WORKED_EXAMPLES)
def test_years_days_worked_examples(analytics_db, start, end, days, years_days):
    got = analytics_db.rows("SELECT years_days(?::DATE, ?::DATE), ?::DATE - ?::DATE + 1", [start, end, end, start])
    assert got == [(years_days, days)]


@pytest.mark.parametrize(("start", "end", "days", "years_days"), WORKED_EXAMPLES[:4])
def test_worked_examples_as_stored_streaks(analytics_db, start, end, days, years_days):
    first, last = D.fromisoformat(start), D.fromisoformat(end)
    analytics_db.add(*daily_history(first, (last - first).days + 1, km=2.0))
    assert streaks(analytics_db) == [(first, last, days, years_days)]


def test_feb29_start_more_anniversaries(analytics_db):
    rows = analytics_db.rows(
        "SELECT years_days(DATE '2016-02-29', DATE '2017-02-27'), years_days(DATE '2016-02-29', DATE '2017-03-01'),"
        " years_days(DATE '2016-02-29', DATE '2020-02-28'), years_days(DATE '2015-03-01', DATE '2016-02-29'),"
        " years_days(DATE '2015-03-01', DATE '2016-03-01')"
    )
    assert rows == [("0 years 365 days", "1 year 1 day", "4 years 0 days", "1 year 0 days", "1 year 1 day")]


def _reference_years_days(start: dt.date, end: dt.date) -> str:
    """Independent oracle: count anniversaries one by one (Feb 29 -> Mar 1 in common years)."""

    def anniversary(n: int) -> dt.date:
        try:
            return start.replace(year=start.year + n)
        except ValueError:
            return dt.date(start.year + n, 3, 1)

    years = 0
    while anniversary(years + 1) <= end + dt.timedelta(days=1):
        years += 1
    days = (end - anniversary(years)).days + 1
    return f"{years} year{'' if years == 1 else 's'} {days} day{'' if days == 1 else 's'}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.dates(D(1900, 1, 1), D(2100, 1, 1)), length=st.integers(1, 30000))
def test_years_days_matches_reference(analytics_db, start, length):
    end = start + dt.timedelta(days=length - 1)
    assert analytics_db.rows("SELECT years_days(?, ?)", [start, end]) == [(_reference_years_days(start, end),)]


# --- minimum distance ------------------------------------------------------------------------------------------


def test_1609_m_does_not_qualify_but_1609_344_m_does(analytics_db):
    analytics_db.add(run(D(2024, 5, 1), 1.609), run(D(2024, 5, 2), 1.609344), run(D(2024, 5, 3), 1.6093439))
    assert qualifying(analytics_db) == [D(2024, 5, 2)]
    assert qualifying(analytics_db, mode="strict") == [D(2024, 5, 2)]


def test_two_half_mile_runs_qualify_in_sum_mode_only(analytics_db):
    analytics_db.add(
        run("2024-05-01T07:00:00+02:00", HALF_MILE, activity_id="am"),
        run("2024-05-01T19:00:00+02:00", HALF_MILE, activity_id="pm"),
    )
    assert qualifying(analytics_db, mode="sum") == [D(2024, 5, 1)]
    assert qualifying(analytics_db, mode="strict") == []
    audit = analytics_db.dicts("SELECT * FROM streak_day_audit(?, 'sum')", [MILE])
    assert [(a["day"], a["run_count"], a["sum_qualifies"], a["strict_qualifies"], a["qualifies"]) for a in audit] == [
        (D(2024, 5, 1), 2, True, False, True)
    ]


def test_day_total_is_exact_regardless_of_float_summation(analytics_db):
    # three runs of exactly a third of a mile: a naive float sum could land a hair below 1.609344
    analytics_db.add(*(run(dt.datetime(2024, 5, 1, 6 + i), 0.536448, activity_id=f"t{i}") for i in range(3)))
    assert qualifying(analytics_db) == [D(2024, 5, 1)]


def test_later_run_adds_to_the_day_never_overwrites(analytics_db):
    analytics_db.add(run(dt.datetime(2024, 5, 1, 6), 1.2, activity_id="first"))
    assert qualifying(analytics_db) == []
    analytics_db.add(run(dt.datetime(2024, 5, 1, 20), 0.5, activity_id="second"))
    assert qualifying(analytics_db) == [D(2024, 5, 1)]


def test_treadmill_runs_count(analytics_db):
    analytics_db.add(run(D(2024, 5, 1), 2.0, treadmill=True), run(D(2024, 5, 2), 2.0))
    assert streaks(analytics_db) == [(D(2024, 5, 1), D(2024, 5, 2), 2, "0 years 2 days")]


def test_custom_threshold(analytics_db):
    analytics_db.add(run(D(2024, 5, 1), 3.0), run(D(2024, 5, 2), 2.9))
    assert qualifying(analytics_db, min_km=3.0) == [D(2024, 5, 1)]


# --- local calendar day ------------------------------------------------------------------------------------------


def test_2330_local_that_is_tomorrow_in_utc_counts_for_today(analytics_db):
    analytics_db.add(
        run("2024-06-09T07:00:00-05:00", 2.0, activity_id="a"),
        run("2024-06-10T23:30:00-05:00", 2.0, activity_id="b"),  # 2024-06-11 04:30 UTC
        run("2024-06-12T07:00:00-05:00", 2.0, activity_id="c"),
    )
    assert analytics_db.rows("SELECT start_date, start_time_utc::DATE FROM runs WHERE activity_id = 'b'") == [
        (D(2024, 6, 10), D(2024, 6, 11))
    ]
    assert qualifying(analytics_db) == [D(2024, 6, 9), D(2024, 6, 10), D(2024, 6, 12)]
    assert streaks(analytics_db) == [
        (D(2024, 6, 9), D(2024, 6, 10), 2, "0 years 2 days"),
        (D(2024, 6, 12), D(2024, 6, 12), 1, "0 years 1 day"),
    ]


def test_early_morning_east_of_utc_counts_for_local_day(analytics_db):
    # 00:30 local at UTC+10 is still the previous day in UTC
    analytics_db.add(run("2024-06-10T00:30:00+10:00", 2.0, activity_id="a"))
    assert qualifying(analytics_db) == [D(2024, 6, 10)]


def test_run_spanning_midnight_counts_once_for_its_start_date(analytics_db):
    analytics_db.add(run("2024-06-10T23:50:00+01:00", 8.0, seconds=2400, activity_id="late"))
    assert qualifying(analytics_db) == [D(2024, 6, 10)]


def test_dst_changeover_days_neither_break_nor_double(analytics_db):
    # America/New_York: 2024-03-10 has 23 hours, 2024-11-03 has 25 (01:00-02:00 happens twice)
    analytics_db.add(
        run("2024-03-09T23:30:00-05:00", 2.0, activity_id="m9"),
        run("2024-03-10T23:30:00-04:00", 2.0, activity_id="m10"),
        run("2024-03-11T00:30:00-04:00", 2.0, activity_id="m11"),
        run("2024-11-02T07:00:00-04:00", 2.0, activity_id="n2"),
        run("2024-11-03T01:30:00-04:00", 1.0, activity_id="n3a"),  # first 01:30 (EDT)
        run("2024-11-03T01:30:00-05:00", 1.0, activity_id="n3b"),  # second 01:30 (EST), one hour later
        run("2024-11-04T00:10:00-05:00", 2.0, activity_id="n4"),
    )
    assert streaks(analytics_db) == [
        (D(2024, 11, 2), D(2024, 11, 4), 3, "0 years 3 days"),
        (D(2024, 3, 9), D(2024, 3, 11), 3, "0 years 3 days"),
    ]
    audit = analytics_db.rows(
        "SELECT run_count, total_km FROM streak_day_audit(?, 'sum') WHERE day = '2024-11-03'", [MILE]
    )
    assert audit == [(2, 2.0)]


def test_calendar_days_not_24_hour_gaps(analytics_db):
    analytics_db.add(
        run("2024-06-10T06:00:00+00:00", 2.0, activity_id="a"), run("2024-06-11T21:00:00+00:00", 2.0, activity_id="b")
    )
    assert streaks(analytics_db) == [(D(2024, 6, 10), D(2024, 6, 11), 2, "0 years 2 days")]


def test_two_runs_one_day_count_as_one_streak_day(analytics_db):
    analytics_db.add(*daily_history(D(2024, 1, 1), 10, km=2.0, runs_per_day=2))
    assert streaks(analytics_db) == [(D(2024, 1, 1), D(2024, 1, 10), 10, "0 years 10 days")]


# --- current streak, grace, late and deleted runs -----------------------------------------------------------


def test_active_at_risk_broken(analytics_db):
    analytics_db.add(*daily_history(D(2024, 1, 1), 10, km=2.0))
    assert current(analytics_db, "2024-01-10") | {} == {
        "as_of": D(2024, 1, 10),
        "status": "active",
        "days": 10,
        "start_date": D(2024, 1, 1),
        "end_date": D(2024, 1, 10),
        "years_days": "0 years 10 days",
        "last_qualifying_day": D(2024, 1, 10),
        "today_km": 2.0,
        "needed_today_km": 0.0,
    }
    at_risk = current(analytics_db, "2024-01-11")
    assert (at_risk["status"], at_risk["days"], at_risk["start_date"], at_risk["end_date"]) == (
        "at_risk",
        10,
        D(2024, 1, 1),
        D(2024, 1, 10),
    )
    assert (at_risk["today_km"], at_risk["needed_today_km"]) == (0.0, MILE)
    broken = current(analytics_db, "2024-01-12")
    assert (broken["status"], broken["days"], broken["start_date"], broken["end_date"]) == ("broken", 0, None, None)
    assert broken["last_qualifying_day"] == D(2024, 1, 10)


def test_needed_today_counts_todays_partial_distance(analytics_db):
    analytics_db.add(*daily_history(D(2024, 1, 1), 3, km=2.0), run(dt.datetime(2024, 1, 4, 7), 0.609344))
    status = current(analytics_db, "2024-01-04")
    assert (status["status"], status["days"], status["today_km"], status["needed_today_km"]) == (
        "at_risk",
        3,
        0.609344,
        1.0,
    )
    strict = current(analytics_db, "2024-01-04", mode="strict")
    assert strict["needed_today_km"] == MILE  # strict: a partial run does not help, one full mile is needed


def test_current_streak_ignores_runs_after_today(analytics_db):
    analytics_db.add(*daily_history(D(2024, 1, 1), 30, km=2.0))
    status = current(analytics_db, "2024-01-15")
    assert (status["status"], status["days"], status["start_date"], status["end_date"]) == (
        "active",
        15,
        D(2024, 1, 1),
        D(2024, 1, 15),
    )
    report = streak_report(analytics_db.con, D(2024, 1, 15))
    assert report["longest"] == {
        "days": 15,
        "start": "2024-01-01",
        "end": "2024-01-15",
        "years_days": "0 years 15 days",
        "override_days": 0,
    }


def test_late_arriving_run_revives_the_streak(analytics_db):
    analytics_db.add(*daily_history(D(2024, 1, 1), 5, km=2.0))  # Jan 1..5
    analytics_db.add(run(D(2024, 1, 7), 2.0, activity_id="jan7"))
    assert current(analytics_db, "2024-01-07")["days"] == 1
    analytics_db.add(run(D(2024, 1, 6), 2.0, activity_id="jan6-uploaded-late"))
    revived = current(analytics_db, "2024-01-07")
    assert (revived["status"], revived["days"], revived["start_date"]) == ("active", 7, D(2024, 1, 1))


def test_deleted_run_breaks_and_undelete_restores(analytics_db):
    analytics_db.add(*daily_history(D(2024, 1, 1), 9, km=2.0))
    analytics_db.con.execute("UPDATE runs SET deleted = true WHERE start_date = DATE '2024-01-05'")
    assert streaks(analytics_db) == [
        (D(2024, 1, 6), D(2024, 1, 9), 4, "0 years 4 days"),
        (D(2024, 1, 1), D(2024, 1, 4), 4, "0 years 4 days"),
    ]
    assert current(analytics_db, "2024-01-09")["days"] == 4
    analytics_db.con.execute("UPDATE runs SET deleted = false")
    assert streaks(analytics_db) == [(D(2024, 1, 1), D(2024, 1, 9), 9, "0 years 9 days")]


def test_one_gap_day_gives_two_exact_streaks(analytics_db):
    analytics_db.add(*daily_history(D(2023, 12, 20), 12, km=2.0))  # Dec 20 .. Dec 31
    analytics_db.add(run(D(2024, 1, 1), 1.0, activity_id="short"))  # the gap: too short
    analytics_db.add(*(run(D(2024, 1, 2) + dt.timedelta(days=i), 2.0, activity_id=f"jan{i}") for i in range(3)))
    assert streaks(analytics_db) == [
        (D(2023, 12, 20), D(2023, 12, 31), 12, "0 years 12 days"),
        (D(2024, 1, 2), D(2024, 1, 4), 3, "0 years 3 days"),
    ]


def test_no_runs_at_all(analytics_db):
    assert streaks(analytics_db) == []
    status = current(analytics_db, "2024-01-01")
    assert (status["status"], status["days"], status["start_date"], status["last_qualifying_day"]) == (
        "broken",
        0,
        None,
        None,
    )
    assert streak_report(analytics_db.con, D(2024, 1, 1))["longest"] == {
        "days": 0,
        "start": None,
        "end": None,
        "years_days": "0 years 0 days",
        "override_days": 0,
    }


# --- long history ----------------------------------------------------------------------------------------------


def test_20002_day_streak_exact(analytics_db):
    analytics_db.add(*daily_history(D(1980, 1, 1), 20002, km=1.7))  # 1980-01-01 .. 2034-10-05
    assert streaks(analytics_db) == [(D(1980, 1, 1), D(2034, 10, 5), 20002, "54 years 278 days")]
    status = current(analytics_db, "2034-10-05")
    assert (status["status"], status["days"], status["start_date"], status["years_days"]) == (
        "active",
        20002,
        D(1980, 1, 1),
        "54 years 278 days",
    )
    assert current(analytics_db, "2034-10-06")["status"] == "at_risk"
    assert current(analytics_db, "2034-10-06")["days"] == 20002
    assert current(analytics_db, "2034-10-07")["days"] == 0


def test_20090_day_streak_and_its_day_before(analytics_db):
    analytics_db.add(*daily_history(D(1981, 6, 15), 20090, km=5.0))  # .. 2036-06-15
    assert streaks(analytics_db) == [(D(1981, 6, 15), D(2036, 6, 15), 20090, "55 years 1 day")]
    report = streak_report(analytics_db.con, D(2036, 6, 14))
    assert report["current"] == {
        "days": 20089,
        "start": "1981-06-15",
        "end": "2036-06-14",
        "status": "active",
        "days_only_from_files": 0,
        "override_days": 0,
    }
    assert report["longest"]["years_days"] == "55 years 0 days"


# --- the stored rule ------------------------------------------------------------------------------------------


def test_stored_rule_drives_plain_views_and_read_only_readers(analytics_db):
    analytics_db.add(
        run(dt.datetime(2024, 5, 1, 7), HALF_MILE, activity_id="a1"),
        run(dt.datetime(2024, 5, 1, 19), HALF_MILE, activity_id="a2"),
        run(D(2024, 5, 2), 2.0, activity_id="b"),
    )
    assert get_streak_rule(analytics_db.con).as_dict() == {"min_km": MILE, "mode": "sum"}
    assert analytics_db.rows("SELECT start_date, days FROM streak_analysis") == [(D(2024, 5, 1), 2)]
    set_streak_rule(analytics_db.con, MILE, "strict")
    assert analytics_db.rows("SELECT start_date, days FROM streak_analysis") == [(D(2024, 5, 2), 1)]
    assert analytics_db.rows(
        "SELECT day, qualifies, sum_qualifies, strict_qualifies FROM streak_audit ORDER BY day"
    ) == [(D(2024, 5, 1), False, True, False), (D(2024, 5, 2), True, True, True)]
    analytics_db.con.close()
    reader = duckdb.connect(str(analytics_db.path), read_only=True)
    try:
        assert get_streak_rule(reader).as_dict() == {"min_km": MILE, "mode": "strict"}
        assert streak_report(reader, D(2024, 5, 2))["current"]["days"] == 1
        assert streak_report(reader, D(2024, 5, 2), mode="sum")["current"]["days"] == 2  # explicit override
    finally:
        reader.close()
    analytics_db.con = duckdb.connect(str(analytics_db.path))


@pytest.mark.parametrize(
    ("min_km", "mode"), [(0, "sum"), (-1.0, "sum"), (float("nan"), "sum"), ("1.6", "sum"), (MILE, "any")]
)
def test_invalid_rule_is_rejected_and_keeps_the_stored_rule(analytics_db, min_km, mode):
    with pytest.raises(MyRunStreakError) as error:
        set_streak_rule(analytics_db.con, min_km, mode)
    assert error.value.hint and "MYRUNSTREAK_STREAK_" in error.value.hint
    assert get_streak_rule(analytics_db.con).as_dict() == {"min_km": MILE, "mode": "sum"}


def test_rule_from_env(analytics_db, monkeypatch):
    monkeypatch.setenv("MYRUNSTREAK_STREAK_MIN_KM", "2.5")
    monkeypatch.setenv("MYRUNSTREAK_STREAK_MODE", "STRICT")
    assert set_streak_rule_from_env(analytics_db.con).as_dict() == {"min_km": 2.5, "mode": "strict"}
    assert analytics_db.rows("SELECT min_km, mode FROM streak_rule") == [(2.5, "strict")]
    monkeypatch.setenv("MYRUNSTREAK_STREAK_MIN_KM", "one mile")
    with pytest.raises(MyRunStreakError, match="invalid streak rule"):
        set_streak_rule_from_env(analytics_db.con)
    monkeypatch.delenv("MYRUNSTREAK_STREAK_MIN_KM")
    monkeypatch.delenv("MYRUNSTREAK_STREAK_MODE")
    assert set_streak_rule_from_env(analytics_db.con).as_dict() == {"min_km": MILE, "mode": "sum"}


@pytest.mark.parametrize(
    ("name", "value"), [("MYRUNSTREAK_STREAK_MODE", "loose"), ("MYRUNSTREAK_STREAK_MIN_KM", "a mile")]
)
def test_bad_rule_env_is_a_clear_settings_error(monkeypatch, name, value):
    from myrunstreak_pipeline.settings import Settings

    monkeypatch.setenv(name, value)
    with pytest.raises(MyRunStreakError) as error:  # every Settings.from_env() caller: one line + hint
        Settings.from_env()
    assert isinstance(error.value, ValueError) and name in str(error.value) and name in error.value.hint


def test_rule_table_holds_one_row_and_checks_mode(analytics_db):
    with pytest.raises(duckdb.ConstraintException):
        analytics_db.con.execute("INSERT INTO streak_rule (id, min_km, mode) VALUES (2, 1.0, 'sum')")
    with pytest.raises(duckdb.ConstraintException):
        analytics_db.con.execute("UPDATE streak_rule SET mode = 'loose'")


def test_macro_rejects_unknown_mode(analytics_db):
    analytics_db.add(run(D(2024, 5, 1), 2.0))
    with pytest.raises(duckdb.InvalidInputException, match="streak mode must be"):
        streaks(analytics_db, mode="loose")


# --- properties -----------------------------------------------------------------------------------------------

day_runs = st.lists(
    st.tuples(st.integers(0, 120), st.sampled_from([0.3, HALF_MILE, 1.0, 1.609, MILE, 2.5])), max_size=120
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=day_runs, mode=st.sampled_from(["sum", "strict"]), today_offset=st.integers(0, 125))
def test_streak_properties(analytics_db, runs, mode, today_offset):
    first = D(2023, 12, 1)
    analytics_db.con.execute("DELETE FROM runs")
    analytics_db.add(
        *(
            run(
                dt.datetime.combine(first + dt.timedelta(days=d), dt.time(6)) + dt.timedelta(minutes=i),
                km,
                activity_id=f"r{i}",
            )
            for i, (d, km) in enumerate(runs)
        )
    )
    # oracle: per-day totals in exact micrometres
    totals: dict[int, int] = {}
    longest: dict[int, int] = {}
    for d, km in runs:
        micro = round(km * 1e9)
        totals[d] = totals.get(d, 0) + micro
        longest[d] = max(longest.get(d, 0), micro)
    per_day = totals if mode == "sum" else longest
    expected_days = sorted(first + dt.timedelta(days=d) for d, v in per_day.items() if v >= round(MILE * 1e9))
    assert qualifying(analytics_db, mode=mode) == expected_days

    found = sorted(streaks(analytics_db, mode=mode))
    assert sum(days for _, _, days, _ in found) == len(expected_days)
    for start, end, days, _ in found:
        assert (end - start).days + 1 == days
    for (_, prev_end, _, _), (next_start, _, _, _) in zip(found, found[1:]):
        assert next_start > prev_end + dt.timedelta(days=1)  # never overlap, never touch

    today = first + dt.timedelta(days=today_offset)
    report = streak_report(analytics_db.con, today, MILE, mode)
    assert report["longest"]["days"] >= report["current"]["days"]
    in_past = [d for d in expected_days if d <= today]
    alive = bool(in_past) and in_past[-1] >= today - dt.timedelta(days=1)
    assert (report["current"]["days"] > 0) == alive
    assert report["current"]["status"] == ("active" if today in in_past else "at_risk" if alive else "broken")
