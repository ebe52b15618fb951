"""Day attribution (streak-rules §1.3) on hand-made days: the activity-local default, a streak anchored in a home
zone, travel days across the date line (Auckland → Los Angeles and back) with the departure or the arrival zone,
DST changeover days in both directions, runs across midnight counted once or for both days, and overrides.

Each expectation is worked out by hand in the comments (local wall-clock times, offsets), never read back from SQL.
"""

from __future__ import annotations

import datetime as dt

import pytest

from myrunstreak_pipeline.analytics.rule import set_streak_rule
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline_tests.fixtures import payloads

MILE = 1.609344


def _run(activity_id: int, start: str, km: float = 5.0, seconds: float = 1800.0) -> dict:
    return payloads.gps_run(activity_id, start=start, distance=km, duration=seconds)


@pytest.fixture
def db():
    with DuckDBManager() as manager:
        yield manager.connection


def _load(con, *runs: dict) -> None:
    RunRepository(con).upsert_activities(list(runs))


def _days(con) -> dict[str, list[dt.date]]:
    rows = con.execute("SELECT activity_id, day FROM run_day_attribution ORDER BY activity_id, day").fetchall()
    days: dict[str, list[dt.date]] = {}
    for activity_id, day in rows:
        days.setdefault(activity_id, []).append(day)
    return days


def _streaks(con) -> list[tuple[dt.date, dt.date, int]]:
    rows = con.execute(f"SELECT start_date, end_date, days FROM streaks({MILE}, 'sum') ORDER BY start_date").fetchall()
    return [tuple(row) for row in rows]


def _travel(con, day: str, zone: str, side: str) -> None:
    con.execute("INSERT INTO travel_days VALUES (?, ?, ?, 'flight', 'test', now()::TIMESTAMP)", [day, zone, side])


D = dt.date

# Los Angeles → Auckland, crossing the date line westward: the runner runs Monday morning in LA, boards Monday
# 22:00 (PST, UTC-8), lands Wednesday 08:00 (NZDT, UTC+13) and runs Wednesday 10:00 and Thursday. The calendar
# Tuesday never happens to them.
LA_TO_AKL = (
    _run(1, "2024-03-04T07:00:00-08:00"),  # Mon 4 Mar, LA                     = Tue 04:00 Auckland
    _run(2, "2024-03-06T10:00:00+13:00"),  # Wed 6 Mar, Auckland               = Tue 13:00 LA
    _run(3, "2024-03-07T07:00:00+13:00"),  # Thu 7 Mar, Auckland               = Wed 10:00 LA
)


def test_activity_local_days_follow_each_runs_own_clock_and_the_lost_day_breaks_the_streak(db):
    _load(db, *LA_TO_AKL)
    assert _days(db) == {"1": [D(2024, 3, 4)], "2": [D(2024, 3, 6)], "3": [D(2024, 3, 7)]}
    assert _streaks(db) == [(D(2024, 3, 4), D(2024, 3, 4), 1), (D(2024, 3, 6), D(2024, 3, 7), 2)]


def test_a_departure_zone_travel_day_keeps_the_streak_as_the_usrsa_rule_allows(db):
    _load(db, *LA_TO_AKL)
    _travel(db, "2024-03-05", "America/Los_Angeles", "departure")
    # Tuesday in LA time runs from Tue 00:00 PST (= Tue 21:00 NZDT) to Wed 00:00 PST (= Wed 21:00 NZDT): the
    # Wednesday 10:00 Auckland run (Tue 13:00 LA) counts for Tuesday; the others keep their own days.
    assert _days(db) == {"1": [D(2024, 3, 4)], "2": [D(2024, 3, 5)], "3": [D(2024, 3, 7)]}
    assert _streaks(db) == [(D(2024, 3, 4), D(2024, 3, 5), 2), (D(2024, 3, 7), D(2024, 3, 7), 1)]
    zone = db.execute("SELECT zone_used FROM run_day_attribution WHERE activity_id = '2'").fetchone()[0]
    assert zone == "travel day, departure zone America/Los_Angeles"


def test_an_arrival_zone_travel_day_claims_what_fell_on_it_in_the_new_zone(db):
    _load(db, *LA_TO_AKL)
    _travel(db, "2024-03-05", "Pacific/Auckland", "arrival")
    # Tuesday in Auckland time = Mon 03:00 .. Tue 03:00 LA: the Monday 07:00 LA run (Tue 04:00 NZDT) moves to Tuesday
    assert _days(db) == {"1": [D(2024, 3, 5)], "2": [D(2024, 3, 6)], "3": [D(2024, 3, 7)]}
    assert _streaks(db) == [(D(2024, 3, 5), D(2024, 3, 7), 3)]


def test_auckland_to_los_angeles_lives_a_day_twice_and_still_counts_once(db):
    # Eastward: run Sat 9 Mar 08:00 Auckland, fly Sat 19:00 NZDT (= Fri 22:00 PST), land Sat 9 Mar 11:00 LA, run
    # Sat 17:00 LA. Both runs are on Saturday by their own clocks: one day, two runs, counted once.
    _load(db, _run(11, "2024-03-09T08:00:00+13:00", km=1.0), _run(12, "2024-03-09T17:00:00-08:00", km=1.0))
    assert _days(db) == {"11": [D(2024, 3, 9)], "12": [D(2024, 3, 9)]}
    row = db.execute(f"SELECT run_count, total_km FROM streak_day_audit({MILE}, 'sum')").fetchall()
    assert row == [(2, 2.0)]  # two runs on the one Saturday, summed: 2 km >= a mile


def test_a_home_zone_anchors_every_run_to_the_home_calendar(db):
    _load(db, *LA_TO_AKL)
    set_streak_rule(db, MILE, "sum", "Pacific/Auckland", day_policy="home_zone")
    # in Auckland time: Tue 04:00, Wed 10:00, Thu 07:00
    assert _days(db) == {"1": [D(2024, 3, 5)], "2": [D(2024, 3, 6)], "3": [D(2024, 3, 7)]}
    assert _streaks(db) == [(D(2024, 3, 5), D(2024, 3, 7), 3)]
    zone = db.execute("SELECT DISTINCT zone_used FROM run_day_attribution").fetchall()
    assert zone == [("home zone Pacific/Auckland",)]


@pytest.mark.parametrize(
    "zone, starts, expected",
    [
        # Europe/London springs forward on Sun 31 Mar 2024 (01:00 → 02:00: a 23-hour day) and falls back on
        # Sun 27 Oct 2024 (02:00 → 01:00: a 25-hour day). A run late on each day stays on its day.
        (
            "Europe/London",
            ["2024-03-30T23:30:00+00:00", "2024-03-31T23:30:00+01:00", "2024-04-01T00:30:00+01:00"],
            [D(2024, 3, 30), D(2024, 3, 31), D(2024, 4, 1)],
        ),
        (
            "Europe/London",
            ["2024-10-26T23:30:00+01:00", "2024-10-27T23:30:00+00:00", "2024-10-28T00:30:00+00:00"],
            [D(2024, 10, 26), D(2024, 10, 27), D(2024, 10, 28)],
        ),
        # America/New_York: 10 Mar 2024 (23 h) and 3 Nov 2024 (25 h)
        (
            "America/New_York",
            ["2024-03-09T23:59:00-05:00", "2024-03-10T00:30:00-05:00", "2024-03-10T23:59:00-04:00"],
            [D(2024, 3, 9), D(2024, 3, 10), D(2024, 3, 10)],
        ),
        (
            "America/New_York",
            ["2024-11-02T23:59:00-04:00", "2024-11-03T01:30:00-05:00", "2024-11-04T00:01:00-05:00"],
            [D(2024, 11, 2), D(2024, 11, 3), D(2024, 11, 4)],
        ),
    ],
    ids=["london-spring", "london-autumn", "new-york-spring", "new-york-autumn"],
)
@pytest.mark.parametrize("policy", ["activity_local", "home_zone"])
def test_a_dst_changeover_day_is_an_ordinary_day(db, zone, starts, expected, policy):
    _load(db, *(_run(20 + index, start) for index, start in enumerate(starts)))
    set_streak_rule(db, MILE, "sum", zone, day_policy=policy)
    assert [days[0] for _id, days in sorted(_days(db).items())] == expected
    distinct = sorted(set(expected))
    assert _streaks(db) == [(distinct[0], distinct[-1], len(distinct))]  # never broken, never doubled


def test_a_run_across_midnight_counts_once_by_default_and_for_both_days_when_asked(db):
    _load(
        db,
        _run(31, "2024-06-01T23:40:00+02:00", km=6.0, seconds=2400),  # 23:40 → 00:20: across midnight
        _run(32, "2024-06-03T07:00:00+02:00"),
        _run(33, "2024-06-03T23:00:00+02:00", km=2.0, seconds=3600),  # 23:00 → 00:00 exactly: not across
    )
    assert _days(db) == {"31": [D(2024, 6, 1)], "32": [D(2024, 6, 3)], "33": [D(2024, 6, 3)]}
    assert _streaks(db) == [(D(2024, 6, 1), D(2024, 6, 1), 1), (D(2024, 6, 3), D(2024, 6, 3), 1)]
    set_streak_rule(db, MILE, "sum", None, midnight_both_days=True)
    assert _days(db) == {"31": [D(2024, 6, 1), D(2024, 6, 2)], "32": [D(2024, 6, 3)], "33": [D(2024, 6, 3)]}
    assert _streaks(db) == [(D(2024, 6, 1), D(2024, 6, 3), 3)]
    # totals still count each run once
    total = db.execute("SELECT sum(total_km) FROM daily_summary").fetchone()[0]
    assert total == pytest.approx(13.0)
    assert db.execute("SELECT count(*) FROM daily_summary WHERE day = DATE '2024-06-02'").fetchone()[0] == 0


def test_an_override_bridges_a_day_and_says_so(db):
    _load(db, _run(41, "2024-07-01T07:00:00+00:00"), _run(42, "2024-07-03T07:00:00+00:00"))
    assert len(_streaks(db)) == 2
    db.execute("INSERT INTO day_overrides VALUES ('2024-07-02', 3.0, 'race, no device', 'test', now()::TIMESTAMP)")
    assert _streaks(db) == [(D(2024, 7, 1), D(2024, 7, 3), 3)]
    rows = db.execute(
        f"SELECT day, run_count, override_km, rests_on_override FROM run_days_judged({MILE}, 'sum') ORDER BY day"
    ).fetchall()
    assert rows == [
        (D(2024, 7, 1), 1, None, False),
        (D(2024, 7, 2), 0, 3.0, True),
        (D(2024, 7, 3), 1, None, False),
    ]
    # an override below the mile does not qualify a day alone, but adds to the day's runs in 'sum' mode
    db.execute("UPDATE day_overrides SET km = 1.0")
    _load(db, _run(43, "2024-07-02T07:00:00+00:00", km=0.7))
    audit = db.execute(f"SELECT total_km, qualifies, rests_on_override FROM streak_day_audit({MILE}, 'sum')").fetchall()
    assert (1.7, True, True) in audit
    strict = db.execute(f"SELECT count(*) FROM qualifying_days({MILE}, 'strict')").fetchone()[0]
    assert strict == 2  # strict: neither the 0.7 km run nor the 1 km override is a mile alone
