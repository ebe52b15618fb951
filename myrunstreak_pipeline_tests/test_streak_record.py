"""The streak record (``myrunstreak streak --record``, issue 14 item 3): every day of the current (or a chosen)
streak with its runs, the rule, the zone used and any override, in csv, json and markdown, plus the registry
summary. The record's days always sum to the streak length; a day with only an override and a travel day show
what decided them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from myrunstreak_pipeline.analytics import overrides
from myrunstreak_pipeline.analytics.record import (
    CSV_COLUMNS,
    NO_LOCATION,
    NO_NAME,
    record_csv,
    record_json,
    record_markdown,
    streak_record,
)
from myrunstreak_pipeline.analytics.report import streak_report
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline_tests.fixtures.payloads import gps_run

D = dt.date
BIN = Path(sys.executable).parent / "myrunstreak"
TODAY = D(2024, 3, 8)
OVERRIDE_DAY = D(2024, 3, 4)
TRAVEL_DAY = D(2024, 3, 7)
TRAVEL_RUN = "9007"  # 08:00 on 03-08 in Auckland = 11:00 on 03-07 in Los Angeles
NAME, PLACE = "Jane Q. Runner", "Boulder, Colorado"


def _run(activity_id: int, start: str, km: float = 5.0) -> dict:
    return gps_run(activity_id, start=start, distance=km, duration=1800.0)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    """03-01..03-08: two runs on 03-01, none on 03-04 (an override), 03-07 only through a travel day (the run
    starts on 03-08 in Auckland, on 03-07 in Los Angeles, the arrival zone), an evening run on 03-08 in LA."""
    path = tmp_path_factory.mktemp("record") / "runs.duckdb"
    runs = [
        _run(9001, "2024-03-01T07:00:00-05:00", 1.0),
        _run(9011, "2024-03-01T18:30:00-05:00", 0.8),
        *(_run(9000 + day, f"2024-03-0{day}T07:00:00-05:00") for day in (2, 3, 5, 6)),
        _run(int(TRAVEL_RUN), "2024-03-08T08:00:00+13:00", 10.0),
        _run(9008, "2024-03-08T18:00:00-08:00", 3.0),
    ]
    with DuckDBManager(str(path)) as manager:
        con = manager.connection
        RunRepository(con).upsert_activities(runs)
        overrides.add_override(con, OVERRIDE_DAY, 6.0, "race | no device", who="Jane", today=TODAY)
        overrides.set_travel_day(con, TRAVEL_DAY, "America/Los_Angeles", "arrival", "NZ6 AKL-LAX", who="Jane")
    return path


@pytest.fixture
def con(db_path):
    with duckdb.connect(str(db_path), read_only=True) as connection:
        yield connection


@pytest.fixture
def record(con) -> dict:
    return streak_record(con, TODAY, runner_name=NAME, runner_location=PLACE)


def test_the_days_sum_to_the_streak_length(con, record):
    report = streak_report(con, TODAY)["current"]
    assert report["days"] == 8 and record["summary"]["days"] == 8
    assert [day["day"] for day in record["days"]] == [str(D(2024, 3, 1) + dt.timedelta(days=n)) for n in range(8)]
    assert all(day["qualifies"] for day in record["days"])
    assert record["summary"] | {"rule": None} == {
        "name": NAME,
        "start": "2024-03-01",
        "days": 8,
        "years_days": "0 years 8 days",
        "location": PLACE,
        "end": "2024-03-08",
        "as_of": "2024-03-08",
        "status": "active",
        "rule": None,
        "override_days": 1,
    }
    assert record["summary"]["rule"] == {
        "min_km": 1.609344,
        "mode": "sum",
        "day_policy": "activity_local",
        "midnight_both_days": False,
    }
    # each counted run appears once, on the day it counts for
    runs = [run["activity_id"] for day in record["days"] for run in day["runs"]]
    assert sorted(runs) == sorted(["9001", "9011", "9002", "9003", "9005", "9006", TRAVEL_RUN, "9008"])


def test_the_override_day_and_the_travel_day_say_what_decided_them(record):
    days = {day["day"]: day for day in record["days"]}
    override_day = days[str(OVERRIDE_DAY)]
    assert override_day["runs"] == [] and override_day["zone_used"] == "no run: override only"
    assert override_day["override"] | {"at_utc": None} == {
        "km": 6.0,
        "reason": "race | no device",
        "by": "Jane",
        "at_utc": None,
    }
    assert override_day["rests_on_override"] and override_day["km"] == 6.0
    travel = days[str(TRAVEL_DAY)]
    assert [run["activity_id"] for run in travel["runs"]] == [TRAVEL_RUN]
    assert travel["zone_used"] == "travel day, arrival zone America/Los_Angeles"
    assert travel["runs"][0]["start_local"] == "2024-03-08T08:00:00+13:00"  # as recorded; dated in the LA zone
    assert travel["override"] is None and not travel["rests_on_override"]
    first = days["2024-03-01"]  # 1.0 + 0.8 km: qualifies by the sum, not by one run
    assert first["checks"] == {"sum": True, "strict": False} and first["km"] == pytest.approx(1.8)
    assert first["zone_used"] == "activity-local, UTC-05:00"
    assert [run["source"] for run in first["runs"]] == ["smashrun", "smashrun"]


def test_csv_one_row_per_day_and_run(record):
    text = record_csv(record)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert len(rows) == 9  # 8 runs + the override day without a run
    assert len({row["day"] for row in rows}) == record["summary"]["days"]
    [override_row] = [row for row in rows if row["day"] == str(OVERRIDE_DAY)]
    assert (override_row["activity_id"], override_row["override_km"], override_row["override_reason"]) == (
        "",
        "6",
        "race | no device",
    )
    assert override_row["zone_used"] == "no run: override only" and override_row["override_by"] == "Jane"
    first_day = [row for row in rows if row["day"] == "2024-03-01"]
    assert [(row["activity_id"], row["run_km"], row["day_km"], row["start_local"]) for row in first_day] == [
        ("9001", "1", "1.8", "2024-03-01T07:00:00-05:00"),
        ("9011", "0.8", "1.8", "2024-03-01T18:30:00-05:00"),
    ]
    assert {(row["qualifies"], row["sum_check"], row["strict_check"]) for row in first_day} == {
        ("true", "true", "false")
    }


def test_json_round_trips(record):
    assert json.loads(record_json(record)) == record


def test_markdown_summary_then_one_row_per_day(record):
    text = record_markdown(record)
    assert text.startswith(f"# Run streak record: {NAME}\n")
    assert f"| {NAME} | 2024-03-01 | 8 | 0 years 8 days | {PLACE} |" in text
    assert "- Overrides: 1 day of this streak rests on an override" in text
    assert "at least 1.609344 km on every local calendar day, sum mode" in text
    day_rows = [line for line in text.splitlines() if line.startswith("| 2024-")]
    assert len(day_rows) == 8
    [override_row] = [line for line in day_rows if line.startswith(f"| {OVERRIDE_DAY} ")]
    assert "no run: override only" in override_row and "race \\| no device (by Jane)" in override_row
    [travel_row] = [line for line in day_rows if line.startswith(f"| {TRAVEL_DAY} ")]
    assert (
        f"travel day, arrival zone America/Los_Angeles | {TRAVEL_RUN} (smashrun, 2024-03-08 08:00 +13:00" in travel_row
    )
    assert override_row.count(" | ") == 5  # the reason's pipe is escaped: still six cells


def test_years_and_days_and_the_registry_defaults(tmp_path):
    """367 days from 2023-03-01: "1 year 1 day" (the anniversary is day 1 of the remainder); no name or place set."""
    first = D(2023, 3, 1)
    days = [first + dt.timedelta(days=n) for n in range(367)]
    path = tmp_path / "year.duckdb"
    with DuckDBManager(str(path)) as manager:
        RunRepository(manager.connection).upsert_activities(
            [_run(20000 + n, f"{day}T06:00:00+01:00", 2.0) for n, day in enumerate(days)]
        )
        record = streak_record(manager.connection, days[-1])
        earlier = streak_record(manager.connection, D(2023, 3, 10))  # the streak current on a chosen date
    assert record["summary"]["days"] == len(record["days"]) == 367
    assert (record["summary"]["years_days"], record["summary"]["start"]) == ("1 year 1 day", "2023-03-01")
    assert (record["summary"]["name"], record["summary"]["location"]) == (NO_NAME, NO_LOCATION)
    assert "| (name not set) | 2023-03-01 | 367 | 1 year 1 day | (location not set) |" in record_markdown(record)
    assert (earlier["summary"]["days"], len(earlier["days"]), earlier["days"][-1]["day"]) == (10, 10, "2023-03-10")


def test_a_broken_streak_has_no_record(con):
    record = streak_record(con, D(2024, 3, 20))
    assert record["days"] == [] and record["summary"]["days"] == 0 and record["summary"]["status"] == "broken"
    assert record_markdown(record) == (
        "no current streak as of 2024-03-20 (status: broken): there is no streak to record"
    )
    assert record_csv(record) == ",".join(CSV_COLUMNS)


def _cli(db: Path, *argv: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MYRUNSTREAK_", "SMASHRUN_"))}
    environment |= {"MYRUNSTREAK_DB": str(db), **env}
    return subprocess.run([str(BIN), *argv], env=environment, capture_output=True, text=True, timeout=60, check=False)


def test_the_cli_prints_each_format(db_path, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(db_path, db)
    before = db.read_bytes()
    as_json = _cli(db, "streak", "--record", "--today", "2024-03-08", "--format", "json", MYRUNSTREAK_RUNNER_NAME=NAME)
    assert as_json.returncode == 0, as_json.stderr
    record = json.loads(as_json.stdout)
    assert record["summary"]["name"] == NAME and record["summary"]["location"] == NO_LOCATION
    assert len(record["days"]) == record["summary"]["days"] == 8
    markdown = _cli(db, "streak", "--record", "--today", "2024-03-06", MYRUNSTREAK_RUNNER_LOCATION=PLACE)
    assert markdown.returncode == 0, markdown.stderr
    assert f"| {NO_NAME} | 2024-03-01 | 6 | 0 years 6 days | {PLACE} |" in markdown.stdout  # as of 03-06
    broken = _cli(db, "streak", "--record", "--today", "2024-04-01", "--format", "csv")
    assert broken.returncode == 0 and broken.stdout == ",".join(CSV_COLUMNS) + "\n"
    assert "no current streak as of 2024-04-01" in broken.stderr
    refused = _cli(db, "streak", "--format", "csv")
    lines = refused.stderr.splitlines()
    assert refused.returncode == 2 and len(lines) == 2 and "--format" in lines[0] and lines[1].startswith("hint: ")
    assert db.read_bytes() == before  # the record only reads
