""" "Today" is the runner's day everywhere: the zone is stored with the streak rule, so the plain views
(``current_streak``, ``year_to_date_comparison``) follow it for any reader, whatever the reading machine's zone.
Plus the card's day counts ("1 day", never "1 days = 0 years 1 day")."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest

from myrunstreak_pipeline.analytics import get_streak_rule, set_streak_rule, set_streak_rule_from_env
from myrunstreak_pipeline.analytics.report import days_text
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository

# UTC+14 and UTC-12: at any instant their dates differ by at least one day, so one of them always differs from
# the machine's date too.
AHEAD, BEHIND = "Pacific/Kiritimati", "Etc/GMT+12"


def _run(activity_id: str, day: dt.date) -> dict:
    return {
        "activityId": activity_id,
        "startDateTimeLocal": f"{day.isoformat()}T07:00:00+00:00",
        "distance": 2.0,
        "duration": 700,
    }


def _today(zone: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(zone)).date()


@pytest.fixture
def db(tmp_path):
    """Runs on every day from 5 days before the earliest "today" on Earth to the latest one."""
    path = tmp_path / "today.duckdb"
    first = _today(BEHIND) - dt.timedelta(days=5)
    with DuckDBManager(path) as manager:
        RunRepository(manager.connection).upsert_activities(
            [_run(f"r{n}", first + dt.timedelta(days=n)) for n in range((_today(AHEAD) - first).days + 1)]
        )
    return path


@pytest.mark.parametrize("stored, session", [(AHEAD, BEHIND), (BEHIND, AHEAD), (AHEAD, "UTC")])
def test_plain_views_follow_the_stored_zone_not_the_session(db, stored, session):
    with DuckDBManager(db) as manager:
        con = manager.connection
        set_streak_rule(con, 1.609344, "sum", stored)
        con.execute(f"SET TimeZone = '{session}'")
        as_of, status = con.execute("SELECT as_of, status FROM current_streak").fetchone()
        year_to_date = con.execute("SELECT * FROM year_to_date_comparison ORDER BY ALL").fetchall()
        expected = con.execute(
            "SELECT * FROM year_to_date_comparison_as_of($day) ORDER BY ALL", {"day": _today(stored)}
        ).fetchall()
    assert as_of == _today(stored)
    assert status == "active"
    assert year_to_date == expected


def test_without_a_stored_zone_the_session_zone_decides(db):
    with DuckDBManager(db) as manager:
        con = manager.connection
        assert get_streak_rule(con).time_zone is None
        con.execute(f"SET TimeZone = '{AHEAD}'")
        assert con.execute("SELECT as_of FROM current_streak").fetchone()[0] == _today(AHEAD)


def test_the_writer_stores_myrunstreak_timezone(db, monkeypatch):
    monkeypatch.setenv("MYRUNSTREAK_TIMEZONE", AHEAD)
    with DuckDBManager(db) as manager:
        rule = set_streak_rule_from_env(manager.connection)
        assert rule.time_zone == AHEAD
        assert get_streak_rule(manager.connection).time_zone == AHEAD


def test_a_reader_in_another_zone_sees_the_runner_today(db):
    """A separate process whose machine zone (TZ) is 26 hours away reads the same date through the view."""
    with DuckDBManager(db) as manager:
        set_streak_rule(manager.connection, 1.609344, "sum", BEHIND)
    script = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('SELECT as_of FROM current_streak').fetchone()[0])"
    )
    env = {**os.environ, "TZ": AHEAD}
    out = subprocess.run([sys.executable, "-c", script, str(db)], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _today(BEHIND).isoformat()


@pytest.mark.parametrize(
    "days, years_days, expected",
    [
        (1, "0 years 1 day", "1 day"),
        (2, "0 years 2 days", "2 days"),
        (364, "0 years 364 days", "364 days"),
        (365, "1 year 0 days", "365 days = 1 year 0 days"),
        (366, "1 year 1 day", "366 days = 1 year 1 day"),
        (20_000, "54 years 276 days", "20,000 days = 54 years 276 days"),
        (1, None, "1 day"),
    ],
)
def test_days_text(days, years_days, expected):
    assert days_text(days, years_days) == expected


def test_streak_cli_uses_the_stored_zone_when_myrunstreak_timezone_is_unset(db, monkeypatch, capsys):
    import json

    from myrunstreak_pipeline.cli import streak as streak_cli

    with DuckDBManager(db) as manager:
        set_streak_rule(manager.connection, 1.609344, "sum", AHEAD)
    monkeypatch.delenv("MYRUNSTREAK_TIMEZONE", raising=False)
    monkeypatch.setenv("TZ", BEHIND)
    parser = streak_cli.argparse.ArgumentParser()
    streak_cli.add_arguments(parser)
    streak_cli.command(parser.parse_args(["--db", str(db), "--json"]))
    assert json.loads(capsys.readouterr().out)["as_of"] == _today(AHEAD).isoformat()
