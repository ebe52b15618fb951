"""``myrunstreak streak``: the `--json` object (the public contract), the card, errors, read-only access."""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from myrunstreak_pipeline.cli import streak as streak_cli
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline_tests.fixtures.analytics import create_analytics_db, daily_history, insert_runs, run

D = dt.date
DESIGN_EXAMPLE = (
    '{"as_of": "2026-11-26", "rule": {"min_km": 1.609344, "mode": "sum"},'
    ' "current": {"days": 123, "start": "2026-07-27", "end": "2026-11-26", "status": "active",'
    ' "days_only_from_files": 0, "override_days": 0},'
    ' "longest": {"days": 456, "start": "2019-01-02", "end": "2020-04-01", "years_days": "1 year 91 days",'
    ' "override_days": 0},'
    ' "streak_count": 17}'
)


def _dispatcher_available() -> bool:
    from myrunstreak_pipeline.cli import SUBCOMMANDS

    try:
        for module_name, _ in SUBCOMMANDS.values():
            importlib.import_module(module_name)
    except ImportError:
        return False
    return True


needs_dispatcher = pytest.mark.skipif(
    not _dispatcher_available(), reason="other rooms' subcommand modules are not in this checkout yet"
)


def build_db(path: Path, runs) -> Path:
    con = create_analytics_db(path)
    try:
        insert_runs(con, runs)
    finally:
        con.close()
    return path


@pytest.fixture
def design_db(tmp_path) -> Path:
    """The history behind the contract's example object: longest 2019-01-02..2020-04-01 (456 days), current
    2026-07-27..2026-11-26 (123 days), 15 more single-day streaks = 17."""
    runs = [*daily_history(D(2019, 1, 2), 456, km=2.0)]
    runs += [run(D(2021, 1, 1) + dt.timedelta(days=2 * i), 1.7, activity_id=f"single{i}") for i in range(15)]
    runs += [
        run(dt.datetime(2026, 7, 27, 7) + dt.timedelta(days=i), 1.609344, activity_id=f"cur{i}") for i in range(123)
    ]
    runs += [run(D(2024, 6, 1), 1.609, activity_id="short")]  # 1,609 m: not a streak day
    return build_db(tmp_path / "design.duckdb", runs)


def streak(argv: list[str]) -> int:
    """Run the subcommand the way cli.main does (parser from add_arguments, then command)."""
    parser = argparse.ArgumentParser(prog="myrunstreak streak")
    streak_cli.add_arguments(parser)
    return streak_cli.command(parser.parse_args(argv))


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("MYRUNSTREAK_DB", "MYRUNSTREAK_TIMEZONE", "MYRUNSTREAK_STREAK_MIN_KM", "MYRUNSTREAK_STREAK_MODE"):
        monkeypatch.delenv(name, raising=False)


def test_json_matches_the_design_contract_exactly(design_db, capsys):
    assert streak(["--db", str(design_db), "--today", "2026-11-26", "--json"]) == 0
    out = capsys.readouterr().out
    assert out == DESIGN_EXAMPLE + "\n"
    report = json.loads(out)
    assert list(report) == ["as_of", "rule", "current", "longest", "streak_count"]
    assert list(report["current"]) == ["days", "start", "end", "status", "days_only_from_files", "override_days"]
    assert list(report["longest"]) == ["days", "start", "end", "years_days", "override_days"]


def test_json_at_risk_and_broken(design_db, capsys):
    streak(["--db", str(design_db), "--today", "2026-11-27", "--json"])
    assert json.loads(capsys.readouterr().out)["current"] == {
        "days": 123,
        "start": "2026-07-27",
        "end": "2026-11-26",
        "status": "at_risk",
        "days_only_from_files": 0,
        "override_days": 0,
    }
    streak(["--db", str(design_db), "--today", "2026-11-28", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["current"] == {
        "days": 0,
        "start": None,
        "end": None,
        "status": "broken",
        "days_only_from_files": 0,
        "override_days": 0,
    }
    assert report["longest"]["days"] == 456 and report["streak_count"] == 17


def test_today_defaults_to_now_in_myrunstreak_timezone(tmp_path, monkeypatch, capsys):
    zone = "Pacific/Kiritimati"  # UTC+14: often a different date than the machine's
    today = dt.datetime.now(ZoneInfo(zone)).date()
    db = build_db(
        tmp_path / "tz.duckdb",
        [run(today - dt.timedelta(days=1), 2.0, activity_id="y"), run(today, 2.0, activity_id="t")],
    )
    monkeypatch.setenv("MYRUNSTREAK_TIMEZONE", zone)
    monkeypatch.setenv("MYRUNSTREAK_DB", str(db))
    streak(["--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["as_of"] == today.isoformat()
    assert report["current"] == {
        "days": 2,
        "start": (today - dt.timedelta(days=1)).isoformat(),
        "end": today.isoformat(),
        "status": "active",
        "days_only_from_files": 0,
        "override_days": 0,
    }


def test_unknown_timezone_is_a_clear_error(design_db, monkeypatch):
    monkeypatch.setenv("MYRUNSTREAK_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(MyRunStreakError, match="unknown time zone") as error:
        streak(["--db", str(design_db)])
    assert "MYRUNSTREAK_TIMEZONE" in error.value.hint


def test_card(design_db, capsys):
    streak(["--db", str(design_db), "--today", "2026-11-26"])
    card = capsys.readouterr().out
    assert "Streak card as of 2026-11-26  (rule: 1.60934 km per day, sum mode)" in card
    assert "Current streak : 123 days (active, today done), since 2026-07-27" in card
    assert "Longest streak : 456 days = 1 year 91 days, 2019-01-02 .. 2020-04-01" in card
    assert "Streaks        : 17" in card
    assert "Today          : 1.61 km (1.00 mi); still needed today: 0.00 km (0.00 mi)" in card
    # week of Mon 2026-11-23 .. Thu 26th = 4 days; November 26 days; 2026 from Jul 27 = 123 days
    assert f"This week      : {4 * 1.609344:,.2f} km (4.00 mi)" in card
    assert f"This month     : {26 * 1.609344:,.2f} km (26.00 mi)" in card
    assert f"This year      : {123 * 1.609344:,.2f} km (123.00 mi)" in card


def test_card_week_that_began_last_year(tmp_path, capsys):
    # Fri 2026-01-02: its ISO week began Mon 2025-12-29, so this week has 5 days of 2 km; this year only 2
    db = build_db(tmp_path / "newyear.duckdb", [*daily_history(D(2025, 12, 28), 6, km=2.0)])
    streak(["--db", str(db), "--today", "2026-01-02"])
    card = capsys.readouterr().out
    assert f"This week      : {10:,.2f} km" in card
    assert f"This month     : {4:,.2f} km" in card
    assert f"This year      : {4:,.2f} km" in card


def test_card_at_risk_shows_distance_still_needed(tmp_path, capsys):
    db = build_db(
        tmp_path / "risk.duckdb",
        [*daily_history(D(2024, 3, 1), 5, km=3.0), run(dt.datetime(2024, 3, 6, 6), 1.0, activity_id="partial")],
    )
    streak(["--db", str(db), "--today", "2024-03-06"])
    card = capsys.readouterr().out
    assert "Current streak : 5 days (AT RISK, run today), since 2024-03-01" in card
    assert "Today          : 1.00 km (0.62 mi); still needed today: 0.61 km (0.38 mi)" in card


def test_card_broken_and_empty(tmp_path, capsys):
    db = build_db(tmp_path / "empty.duckdb", [])
    streak(["--db", str(db), "--today", "2024-03-06"])
    card = capsys.readouterr().out
    assert "Current streak : 0 days (broken)" in card and "Longest streak : none yet" in card


def test_env_rule_overrides_the_stored_rule(design_db, monkeypatch, capsys):
    monkeypatch.setenv("MYRUNSTREAK_STREAK_MIN_KM", "1.7")
    monkeypatch.setenv("MYRUNSTREAK_STREAK_MODE", "strict")
    streak(["--db", str(design_db), "--today", "2026-11-26", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["rule"] == {"min_km": 1.7, "mode": "strict"}
    assert report["current"]["status"] == "broken"  # the current streak's runs are exactly one mile
    assert report["streak_count"] == 16


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MYRUNSTREAK_STREAK_MIN_KM", "a mile", "not a number"),
        ("MYRUNSTREAK_STREAK_MIN_KM", "-1", "positive"),
        ("MYRUNSTREAK_STREAK_MODE", "loose", "'sum' or 'strict'"),
    ],
)
def test_bad_rule_in_env_is_a_clear_error(design_db, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(MyRunStreakError, match=message) as error:
        streak(["--db", str(design_db), "--json"])
    assert name in error.value.hint


def test_missing_database(tmp_path):
    with pytest.raises(MyRunStreakError, match="database not found") as error:
        streak(["--db", str(tmp_path / "nope.duckdb"), "--json"])
    assert "myrunstreak run" in error.value.hint
    assert not (tmp_path / "nope.duckdb").exists()  # reading never creates a database


def test_unmigrated_database(tmp_path):
    path = tmp_path / "bare.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(MyRunStreakError, match="no streak views") as error:
        streak(["--db", str(path), "--json"])
    assert "myrunstreak run" in error.value.hint


def test_not_a_duckdb_file(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_text("hello")
    with pytest.raises(MyRunStreakError, match="cannot open database"):
        streak(["--db", str(path), "--json"])


def test_bad_today_is_rejected_by_the_parser(design_db, capsys):
    with pytest.raises(SystemExit) as exit_:
        streak(["--db", str(design_db), "--today", "26/11/2026"])
    assert exit_.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_reads_read_only_and_changes_nothing(design_db, capsys):
    before = hashlib.sha256(design_db.read_bytes()).hexdigest()
    con = streak_cli.open_database(str(design_db))
    try:
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("DELETE FROM runs")
    finally:
        con.close()
    streak(["--db", str(design_db), "--today", "2026-11-26", "--json"])
    streak(["--db", str(design_db), "--today", "2026-11-26"])
    capsys.readouterr()
    assert hashlib.sha256(design_db.read_bytes()).hexdigest() == before


@needs_dispatcher
def test_through_the_myrunstreak_dispatcher(design_db, tmp_path, capsys):
    from myrunstreak_pipeline.cli import main

    assert main(["streak", "--db", str(design_db), "--today", "2026-11-26", "--json"]) == 0
    assert capsys.readouterr().out == DESIGN_EXAMPLE + "\n"
    assert main(["streak", "--db", str(tmp_path / "missing.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "error: database not found" in err and "hint: run `myrunstreak run`" in err


@needs_dispatcher
def test_console_script(design_db):
    script = Path(sys.executable).with_name("myrunstreak")
    result = subprocess.run(
        [str(script), "streak", "--db", str(design_db), "--today", "2026-11-26", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == DESIGN_EXAMPLE + "\n"


def test_reads_a_database_on_s3(design_db, s3_client, s3_db_uri, capsys):
    bucket, key = s3_db_uri.removeprefix("s3://").split("/", 1)
    s3_client.upload_file(str(design_db), bucket, key)
    assert streak(["--db", s3_db_uri, "--today", "2026-11-26", "--json"]) == 0
    assert capsys.readouterr().out == DESIGN_EXAMPLE + "\n"
    streak(["--db", s3_db_uri, "--today", "2026-11-27"])
    assert "(AT RISK, run today)" in capsys.readouterr().out
    versions = s3_client.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert len(versions) == 1  # reading never writes the object back
