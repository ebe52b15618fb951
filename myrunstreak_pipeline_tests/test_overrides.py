"""Overrides with an audit trail (issue 14 item 2): ``day_overrides`` and ``override_audit`` stay consistent through
add, replace and remove (one transaction each); an override bridges a gap and every streak figure counts the days
that rest on it; bad values are one line; the ``no_days_resting_on_overrides`` asset check warns about them; and
travel days (``myrunstreak travel``) move a run to the day the runner chose."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import math
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from myrunstreak_pipeline.analytics import overrides
from myrunstreak_pipeline.analytics.report import format_card, streak_card, streak_report
from myrunstreak_pipeline.cli import main
from myrunstreak_pipeline.defs.common import run_sql_check
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline_tests.fixtures.payloads import gps_run

D = dt.date
TODAY = D(2024, 3, 6)
GAP = D(2024, 3, 4)
RUN_DAYS = [D(2024, 3, day) for day in (1, 2, 3, 5, 6)]


def _run(activity_id: int, day: dt.date, km: float = 5.0, time: str = "07:00", offset: str = "-05:00") -> dict:
    return gps_run(activity_id, start=f"{day}T{time}:00{offset}", distance=km, duration=1800.0)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """Runs on 03-01..03-03 and 03-05..03-06 (03-04 missing), in a migrated database made once per module."""
    path = tmp_path_factory.mktemp("overrides") / "template.duckdb"
    with DuckDBManager(str(path)) as manager:
        RunRepository(manager.connection).upsert_activities([_run(500 + i, day) for i, day in enumerate(RUN_DAYS)])
    return path


@pytest.fixture
def db_path(template, tmp_path, monkeypatch) -> Path:
    for name in ("MYRUNSTREAK_TIMEZONE", "MYRUNSTREAK_RUNNER_NAME", "MYRUNSTREAK_STREAK_MIN_KM"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "runs.duckdb"
    shutil.copyfile(template, path)
    return path


@pytest.fixture
def con(db_path):
    with duckdb.connect(str(db_path)) as connection:  # migrated, views and macros stored in the file
        yield connection


def _replay(audit: list[dict]) -> dict:
    """The overrides the audit trail implies: every change applied in order."""
    state: dict = {}
    for row in audit:
        if row["action"] == "remove":
            assert row["day"] in state, f"removed an override that did not exist: {row}"
            assert state.pop(row["day"])[0] == row["km"]
        else:
            assert (row["day"] in state) == (row["action"] == "replace"), row
            state[row["day"]] = (row["km"], row["reason"], row["done_by"])
    return state


def _consistent(con) -> dict:
    current = {row["day"]: (row["km"], row["reason"], row["added_by"]) for row in overrides.list_overrides(con)}
    assert _replay(overrides.list_override_audit(con)) == current
    return current


def test_add_replace_remove_keep_the_table_and_the_audit_consistent(con):
    add = overrides.add_override(con, GAP, 5.0, "race, watch died", who="jane", today=TODAY)
    assert add == "add" and _consistent(con) == {GAP: (5.0, "race, watch died", "jane")}
    other = D(2024, 2, 1)
    overrides.add_override(con, other, 1.7, "  treadmill   at the hotel ", who="jane", today=TODAY)
    again = overrides.add_override(con, GAP, 6.2, "race: 6.2 km by the results", who="sam", today=TODAY)
    assert again == "replace"
    assert _consistent(con) == {
        other: (1.7, "treadmill at the hotel", "jane"),  # whitespace folded
        GAP: (6.2, "race: 6.2 km by the results", "sam"),
    }
    removed = overrides.remove_override(con, GAP, "found the watch file", who="jane")
    assert removed["km"] == 6.2
    assert _consistent(con) == {other: (1.7, "treadmill at the hotel", "jane")}
    overrides.remove_override(con, other, None, who="jane")
    assert _consistent(con) == {}
    audit = overrides.list_override_audit(con)
    assert [(row["action"], row["day"], row["km"]) for row in audit] == [
        ("add", GAP, 5.0),
        ("add", other, 1.7),
        ("replace", GAP, 6.2),
        ("remove", GAP, 6.2),
        ("remove", other, 1.7),
    ]
    assert audit[-1]["reason"] == overrides.NO_REMOVAL_REASON and audit[3]["reason"] == "found the watch file"
    assert [row["audit_id"] for row in audit] == sorted({row["audit_id"] for row in audit})
    assert all(row["done_at"] <= dt.datetime.now(dt.UTC).replace(tzinfo=None) for row in audit)
    with pytest.raises(MyRunStreakError, match="has no override"):
        overrides.remove_override(con, GAP, None, who="jane")
    assert len(overrides.list_override_audit(con)) == 5  # a refused removal leaves no trace


def test_an_override_and_its_audit_row_are_one_transaction(con):
    overrides.add_override(con, GAP, 5.0, "race", who="jane", today=TODAY)
    con.execute("ALTER TABLE override_audit RENAME TO override_audit_gone")  # the audit write will fail
    with pytest.raises(duckdb.CatalogException):
        overrides.add_override(con, GAP, 9.0, "replaced without a trace?", who="mallory", today=TODAY)
    with pytest.raises(duckdb.CatalogException):
        overrides.remove_override(con, GAP, "removed without a trace?", who="mallory")
    con.execute("ALTER TABLE override_audit_gone RENAME TO override_audit")
    assert _consistent(con) == {GAP: (5.0, "race", "jane")}  # neither change happened


def test_an_override_bridges_the_gap_and_every_figure_counts_it(con):
    before = streak_report(con, TODAY)
    assert (before["current"]["days"], before["current"]["override_days"]) == (2, 0)
    assert (before["longest"]["days"], before["longest"]["override_days"]) == (3, 0)
    overrides.add_override(con, GAP, 2.0, "race without a device", who="jane", today=TODAY)
    bridged = streak_report(con, TODAY)
    assert bridged["current"] | {"days_only_from_files": None} == {
        "days": 6,
        "start": "2024-03-01",
        "end": "2024-03-06",
        "status": "active",
        "days_only_from_files": None,
        "override_days": 1,
    }
    assert (bridged["longest"]["days"], bridged["longest"]["override_days"]) == (6, 1)
    assert bridged["streak_count"] == 1
    card = streak_card(con, TODAY)
    assert "  Overrides      : 1 day of this streak rests on an override\n" in format_card(card) + "\n"
    # as of the day before the override the streak does not reach it; the longest (3 days) holds none either
    earlier = streak_report(con, D(2024, 3, 3))
    assert (earlier["current"]["override_days"], earlier["longest"]["override_days"]) == (0, 0)
    overrides.remove_override(con, GAP, "found the file: it was a walk", who="jane")
    assert streak_report(con, TODAY) == before
    assert "Overrides" not in format_card(streak_card(con, TODAY))


def test_an_override_that_only_tops_up_or_is_not_needed(con):
    """A day whose runs alone qualify does not rest on its override; a short run plus an override does (sum), and
    in strict mode the override counts as one run of its length."""
    RunRepository(con).upsert_activities([_run(600, GAP, km=1.0)])  # 1 km: short of a mile
    assert streak_report(con, TODAY)["current"]["days"] == 2
    overrides.add_override(con, GAP, 0.7, "the watch stopped early", who="jane", today=TODAY)
    report = streak_report(con, TODAY)
    assert (report["current"]["days"], report["current"]["override_days"]) == (6, 1)  # 1.7 km summed
    strict = streak_report(con, TODAY, mode="strict")["current"]
    assert (strict["days"], strict["override_days"]) == (2, 0)  # neither the run nor the override is a mile
    overrides.add_override(con, RUN_DAYS[0], 3.0, "belt and braces", who="jane", today=TODAY)
    assert streak_report(con, TODAY)["current"]["override_days"] == 1  # 03-01 qualifies on its runs alone
    assert streak_report(con, TODAY, min_km=6.0)["current"]["days"] == 0  # 5 km runs: no day reaches 6 km
    high = streak_report(con, D(2024, 3, 1), min_km=6.0)["current"]
    assert (high["days"], high["override_days"]) == (1, 1)  # 5 + 3 km: only thanks to the override


def test_an_override_day_is_not_a_day_only_from_files(con):
    """days_only_from_files reads streak_days: a day with an override is not one, nor a day with no run."""
    assert streak_report(con, TODAY)["current"]["days_only_from_files"] == 0
    overrides.add_override(con, GAP, 2.0, "race", who="jane", today=TODAY)
    assert streak_report(con, TODAY)["current"]["days_only_from_files"] == 0


BAD_VALUES = [
    (D(2024, 3, 7), 5.0, "tomorrow", "after today"),
    (GAP, -1.0, "negative", "more than 0"),
    (GAP, 0.0, "zero", "more than 0"),
    (GAP, 2000.5, "too far", "at most 2,000"),
    (GAP, math.nan, "nan", "a number of km"),
    (GAP, math.inf, "inf", "a number of km"),
    (GAP, 5.0, "   ", "--reason is blank"),
    (GAP, 5.0, "x" * 501, "at most 500"),
    (GAP, 5.0, "bell\x07", "printable"),
]


def test_bad_values_are_refused_before_anything_is_written(con):
    for day, km, reason, phrase in BAD_VALUES:
        with pytest.raises(MyRunStreakError, match=phrase) as raised:
            overrides.add_override(con, day, km, reason, who="jane", today=TODAY)
        assert raised.value.hint and "\n" not in str(raised.value)
    assert overrides.list_overrides(con) == [] and overrides.list_override_audit(con) == []
    overrides.add_override(con, TODAY, 2000.0, "x" * 500, who="jane", today=TODAY)  # the limits themselves pass
    assert len(overrides.list_overrides(con)) == 1


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["override", "add", "2999-01-01", "--km", "5", "--reason", "future"], "after today"),
        (["override", "add", "2024-03-04", "--km", "-2", "--reason", "negative"], "--km"),
        (["override", "add", "2024-03-04", "--km", "5", "--reason", " "], "--reason is blank"),
        (["override", "remove", "2024-03-04"], "has no override"),
        (["travel", "set", "2024-03-04", "--zone", "Mars/Base", "--side", "arrival"], "--zone"),
        (["travel", "remove", "2024-03-04"], "not a travel day"),
    ],
)
def test_the_cli_refuses_with_one_line_and_changes_nothing(db_path, monkeypatch, capsys, argv, phrase):
    monkeypatch.setenv("MYRUNSTREAK_DB", str(db_path))
    before = db_path.read_bytes()
    assert _cli(argv) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), captured.err
    assert phrase in lines[0] and captured.out == ""
    assert db_path.read_bytes() == before


def _cli(argv: list[str]) -> int:
    """The dispatcher's exit status (argparse's refusals exit through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code)


def test_the_cli_adds_lists_and_removes_with_who(db_path, monkeypatch, capsys):
    monkeypatch.setenv("MYRUNSTREAK_DB", str(db_path))
    monkeypatch.setenv("MYRUNSTREAK_RUNNER_NAME", "Jane Runner")
    assert main(["override", "add", "2024-03-04", "--km", "5", "--reason", "race | no device"]) == 0
    assert "override added: 2024-03-04 counts with 5 km" in capsys.readouterr().out
    assert main(["override", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(o["day"], o["km"], o["reason"], o["added_by"]) for o in listed["overrides"]] == [
        ("2024-03-04", 5.0, "race | no device", "Jane Runner")
    ]
    assert [(a["action"], a["done_by"]) for a in listed["audit"]] == [("add", "Jane Runner")]
    assert main(["streak", "--today", "2024-03-06", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["current"]["override_days"] == 1
    assert main(["override", "remove", "2024-03-04", "--reason", "found the file"]) == 0
    assert main(["override", "list"]) == 0
    out = capsys.readouterr().out
    assert "0 days with an override" in out and "remove  2024-03-04  5 km  found the file  (by Jane Runner)" in out


def test_a_travel_day_moves_a_run_to_the_day_the_runner_chose(db_path, monkeypatch, capsys):
    """Auckland -> Los Angeles: a run at 08:00 on 03-05 in Auckland is 11:00 on 03-04 in Los Angeles. With 03-04
    as a travel day in the arrival zone it fills the gap; without, it counts for 03-05."""
    with duckdb.connect(str(db_path)) as connection:
        RunRepository(connection).upsert_activities([_run(700, D(2024, 3, 5), offset="+13:00")])
    monkeypatch.setenv("MYRUNSTREAK_DB", str(db_path))
    args = ["travel", "set", "2024-03-04", "--zone", "America/Los_Angeles", "--side", "arrival", "--reason", "NZ6"]
    assert main(args) == 0
    assert main(["travel", "list", "--json"]) == 0
    capsys.readouterr()
    with duckdb.connect(str(db_path), read_only=True) as con:
        [travel] = overrides.list_travel_days(con)
        assert (travel["day"], travel["zone"], travel["side"], travel["reason"]) == (
            GAP,
            "America/Los_Angeles",
            "arrival",
            "NZ6",
        )
        report = streak_report(con, TODAY)
    assert (report["current"]["days"], report["current"]["override_days"]) == (6, 0)
    assert main(["travel", "remove", "2024-03-04"]) == 0
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert streak_report(con, TODAY)["current"]["days"] == 2
        assert overrides.list_travel_days(con) == []


def test_the_asset_check_warns_and_lists_the_days(tmp_path, monkeypatch):
    """``no_days_resting_on_overrides`` on a real Dagster instance: a current streak (as of the real today) with a
    day that rests on an override is a WARN naming that day; the SQL check passes once it is removed."""
    from myrunstreak_pipeline.defs.analytics import build_analytics_assets
    from myrunstreak_pipeline.defs.resources import DuckDBStorage
    from myrunstreak_pipeline.settings import Settings

    for name in ("MYRUNSTREAK_STREAK_MIN_KM", "MYRUNSTREAK_STREAK_MODE", "MYRUNSTREAK_DAY_POLICY"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "check.duckdb"
    monkeypatch.setenv("MYRUNSTREAK_DB", str(path))
    monkeypatch.setenv("MYRUNSTREAK_TIMEZONE", "UTC")
    monkeypatch.setenv("SMASHRUN_ACCESS_TOKEN", "unused-token")
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=n) for n in (4, 3, 1, 0)]  # today - 2 is missing
    gap = today - dt.timedelta(days=2)
    with DuckDBManager(str(path)) as manager:
        RunRepository(manager.connection).upsert_activities(
            [_run(800 + i, day, time="12:00", offset="+00:00") for i, day in enumerate(days)]
        )
        overrides.add_override(manager.connection, gap, 3.0, "race, no device", who="jane", today=today)
    settings = Settings.from_env()
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as instance:
        result = dg.materialize(
            [build_analytics_assets(settings)],
            resources={"storage": DuckDBStorage(database=str(path))},
            instance=instance,
        )
    assert result.success
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "no_days_resting_on_overrides"]
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.WARN
    assert check.asset_key == dg.AssetKey("current_streak")
    assert check.metadata["failures"].value == 1
    assert check.metadata["days"].value == [gap.isoformat()]
    assert check.metadata["reasons"].value == ["race, no device"]
    with DuckDBManager(str(path)) as manager:
        overrides.remove_override(manager.connection, gap, "found it", who="jane")
        assert run_sql_check(manager.connection, "no_days_resting_on_overrides.sql")["failures"] == 0


def test_overrides_and_travel_days_on_an_s3_database(template, s3_client, s3_bucket, monkeypatch, capsys):
    """``--db s3://…``: each change is published as a new version of the object (moto's S3 server), and readers
    (``override list``, ``streak --record``) see it."""
    for name in ("MYRUNSTREAK_TIMEZONE", "MYRUNSTREAK_RUNNER_NAME"):
        monkeypatch.delenv(name, raising=False)
    key = "athletes/jane/runs.duckdb"
    s3_client.put_object(Bucket=s3_bucket, Key=key, Body=template.read_bytes())
    uri = f"s3://{s3_bucket}/{key}"
    assert main(["override", "add", "2024-03-04", "--km", "4", "--reason", "race", "--db", uri]) == 0
    assert main(["travel", "set", "2024-03-05", "--zone", "Europe/Paris", "--side", "departure", "--db", uri]) == 0
    capsys.readouterr()
    assert main(["override", "list", "--json", "--db", uri]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(o["day"], o["km"]) for o in listed["overrides"]] == [("2024-03-04", 4.0)]
    assert main(["travel", "list", "--json", "--db", uri]) == 0
    assert [t["zone"] for t in json.loads(capsys.readouterr().out)["travel_days"]] == ["Europe/Paris"]
    assert main(["streak", "--record", "--today", "2024-03-06", "--format", "json", "--db", uri]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["summary"]["days"] == len(record["days"]) == 6 and record["summary"]["override_days"] == 1
    versions = s3_client.list_object_versions(Bucket=s3_bucket, Prefix=key)["Versions"]
    assert len(versions) == 3  # the upload and two published changes


def test_who_is_the_runner_name_else_the_login_name():
    assert overrides.who_is("Jane Q. Runner") == "Jane Q. Runner"
    assert overrides.who_is(None) == getpass.getuser()
