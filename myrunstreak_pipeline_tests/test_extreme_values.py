"""The most extreme values validation accepts (models/bounds.py) load, and nothing downstream overflows on them:
every published view, the repository's streak query and ``myrunstreak streak`` still answer."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from myrunstreak_pipeline.analytics.views import published_views
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline.models import Activity
from myrunstreak_pipeline.models import bounds as b
from myrunstreak_pipeline_tests.fixtures import payloads

EARLIEST = "1900-01-01T00:00:00+14:00"  # the first accepted instant, at the easternmost offset
LATEST = "2100-12-31T23:59:59.999999-14:00"  # the last one, at the westernmost
BIG_DAY = "2024-02-29T00:00:00+14:00"
RUNS_ON_BIG_DAY = 200
FASTEST_LONG = b.MAX_DISTANCE_KM * b.MIN_PACE_MIN_PER_KM * 60  # seconds: the fastest accepted pace, max distance


def extended(activity_id: int | str, values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """An extended run with ``values``, then ``overrides`` (``start`` = startDateTimeLocal)."""
    if "start" in overrides:
        overrides["startDateTimeLocal"] = overrides.pop("start")
    return payloads.extended_run(activity_id, **{**values, **overrides})


def maxima(activity_id: int | str, **overrides: Any) -> dict[str, Any]:
    """Every summary and extended number at its upper bound, every text at its longest."""
    return extended(
        activity_id,
        dict(
            distance=b.MAX_DISTANCE_KM,
            duration=float(b.MAX_DURATION_SECONDS),
            calories=b.MAX_CALORIES,
            notes="n" * b.MAX_NOTES_CHARS,
            externalId="e" * b.MAX_TEXT_CHARS,
            city="c" * b.MAX_TEXT_CHARS,
            startLatitude=90.0,
            startLongitude=180.0,
            heartRateAverage=b.MAX_HEART_RATE,
            heartRateMin=b.MAX_HEART_RATE,
            heartRateMax=b.MAX_HEART_RATE,
            cadenceAverage=b.MAX_CADENCE,
            cadenceMin=b.MAX_CADENCE,
            cadenceMax=b.MAX_CADENCE,
            bodyWeight=b.MAX_BODY_WEIGHT_KG,
            temperature=b.MAX_TEMPERATURE_C,
            temperatureApparent=b.MAX_FEELS_LIKE_C,
            temperatureWindChill=b.MAX_FEELS_LIKE_C,
            humidity=100,
            windSpeed=b.MAX_WIND_KPH,
            elevationGain=b.MAX_ELEVATION_GAIN_M,
            elevationLoss=b.MAX_ELEVATION_GAIN_M,
            elevationAscent=b.MAX_ELEVATION_GAIN_M,
            elevationDescent=b.MAX_ELEVATION_GAIN_M,
            elevationMin=b.MAX_ELEVATION_M,
            elevationNet=b.MAX_ELEVATION_NET_M,
            speedVariability=b.MAX_SPEED_VARIABILITY,
            moonPhase=1.0,
            dateUpdatedUTC="2100-12-31T23:59:59.999999",
        ),
        overrides,
    )


def minima(activity_id: int | str, **overrides: Any) -> dict[str, Any]:
    """Every number at its lower bound (the smallest distance over the longest time: the slowest pace)."""
    return extended(
        activity_id,
        dict(
            distance=b.MIN_DISTANCE_KM,
            duration=float(b.MAX_DURATION_SECONDS),
            calories=0,
            notes="",
            startLatitude=-90.0,
            startLongitude=-180.0,
            heartRateAverage=b.MIN_HEART_RATE,
            heartRateMin=b.MIN_HEART_RATE,
            heartRateMax=b.MIN_HEART_RATE,
            cadenceAverage=0,
            cadenceMin=0,
            cadenceMax=0,
            bodyWeight=b.MIN_BODY_WEIGHT_KG,
            temperature=b.MIN_TEMPERATURE_C,
            temperatureApparent=b.MIN_FEELS_LIKE_C,
            temperatureWindChill=b.MIN_FEELS_LIKE_C,
            humidity=0,
            windSpeed=0,
            elevationGain=0,
            elevationLoss=0,
            elevationAscent=0,
            elevationDescent=0,
            elevationMin=b.MIN_ELEVATION_M,
            elevationNet=-b.MAX_ELEVATION_NET_M,
            speedVariability=0,
            moonPhase=0,
            syncDateTimeUTC="1900-01-01T00:00:00",
            dateCreatedUTC="1900-01-01T00:00:00",
            dateUpdatedUTC="1900-01-01T00:00:00",
        ),
        overrides,
    )


def extreme_detail(activity_id: int, samples: int = 500) -> dict[str, Any]:
    """A full activity whose laps, recordings (every known key at both bounds, an unknown key at the float
    limits) and pauses are extreme."""
    keys = [*b.RECORDING_BOUNDS, "unknownSeries"]
    limits = [*b.RECORDING_BOUNDS.values(), (-1.7976931348623157e308, 1.7976931348623157e308)]
    values = [[low if i % 2 else high for i in range(samples)] for low, high in limits]
    values[keys.index("latitude")][0] = -1  # the no-fix sentinel next to the extremes
    laps = [{"lapType": "work", "endDuration": float(b.MAX_DURATION_SECONDS), "endDistance": b.MAX_DISTANCE_KM}]
    laps += [{"lapType": "tempo", "endDuration": 0, "endDistance": 0}] * (b.MAX_LAPS - 1)
    return maxima(
        activity_id,
        start=LATEST,
        recordingKeys=keys,
        recordingValues=values,
        pauseIndexes=[0, b.MAX_RECORDING_SAMPLES],
        laps=laps,
        songs=[{"BPM": b.MAX_SONG_BPM, "startClock": 0, "endClock": float(b.MAX_CLOCK_SECONDS)}],
        heartRateRecovery=[{"duration": float(b.MAX_RECOVERY_SECONDS), "heartRate": b.MAX_HEART_RATE}],
    )


def extreme_summaries() -> list[dict[str, Any]]:
    runs = [
        maxima(b.INT64_MAX, start=EARLIEST),  # the largest integer id
        minima("x" * b.MAX_ID_CHARS, start=LATEST),  # the longest string id
        minima(2, start=EARLIEST, duration=0),  # zero duration: pace unknown
        maxima(3, start="2100-12-31T23:59:00+14:00", duration=FASTEST_LONG),  # fastest long run
        payloads.gps_run(4, start="1999-12-31T23:59:00-12:00", distance=b.PACE_RULE_MIN_KM, duration=60.0),
    ]
    # many maximal runs on one day, each at the fastest accepted pace
    runs += [maxima(100 + i, start=BIG_DAY, duration=FASTEST_LONG) for i in range(RUNS_ON_BIG_DAY)]
    # a dense run of maximal days, so streaks, rolling windows and period totals all see the extremes
    runs += [maxima(1000 + i, start=f"2024-03-{1 + i:02d}T12:00:00+00:00") for i in range(31)]
    return runs


@pytest.fixture(scope="module")
def extreme_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("extreme") / "extreme.duckdb"
    summaries, detail = extreme_summaries(), extreme_detail(5)
    with DuckDBManager(path) as manager:
        repo = RunRepository(manager.connection)
        result = repo.upsert_activities(summaries)
        assert result.quarantine_reasons == [] and result.loaded == len(summaries)
        result = repo.upsert_activities([detail], payload_kind="detail")
        assert result.quarantine_reasons == [] and result.loaded == 1
    return path


def test_extremes_are_stored_exactly(extreme_db: Path):
    with DuckDBManager(extreme_db, read_only=True) as manager:
        repo = RunRepository(manager.connection)
        assert repo.get_total_runs() == len(extreme_summaries()) + 1
        top = repo.get_run_by_id(b.INT64_MAX)
        assert top["distance_km"] == b.MAX_DISTANCE_KM and top["duration_seconds"] == b.MAX_DURATION_SECONDS
        assert top["calories"] == b.MAX_CALORIES and top["start_date"] == date(1900, 1, 1)
        assert top["start_time_utc"] == datetime(1899, 12, 31, 10, 0)
        slowest = repo.get_run_by_id("x" * b.MAX_ID_CHARS)
        assert slowest["pace_min_per_km"] == pytest.approx(b.MAX_DURATION_SECONDS / 60 / b.MIN_DISTANCE_KM)
        assert slowest["start_date"] == date(2100, 12, 31) and slowest["utc_offset_minutes"] == -14 * 60
        laps, samples = manager.connection.execute(
            "SELECT (SELECT count(*) FROM laps), (SELECT sample_count FROM recording_data)"
        ).fetchone()
        assert (laps, samples) == (b.MAX_LAPS, 500)


def test_every_published_view_answers(extreme_db: Path):
    with DuckDBManager(extreme_db, read_only=True) as manager:
        con = manager.connection
        for view in published_views():
            con.execute(f"SELECT * FROM {view.name}").fetchall()  # an overflow raises here
        big_day = con.execute("SELECT total_km FROM daily_summary WHERE day = DATE '2024-02-29'").fetchone()[0]
        assert big_day == RUNS_ON_BIG_DAY * b.MAX_DISTANCE_KM
        for today in (date(1900, 1, 1), date(2024, 3, 31), date(2100, 12, 31)):
            assert RunRepository(con).get_current_streak(today)["status"] in ("active", "at_risk", "broken")


@pytest.mark.parametrize(("today", "as_json"), [(None, False), ("1900-01-01", True), ("2100-12-31", False)])
def test_streak_cli_answers(extreme_db: Path, today: str | None, as_json: bool):
    script = Path(sys.executable).with_name("myrunstreak")
    argv = [str(script), "streak", "--db", str(extreme_db), *(["--today", today] if today else [])]
    result = subprocess.run(
        [*argv, *(["--json"] if as_json else [])], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if as_json:
        assert json.loads(result.stdout)["as_of"] == today
    else:
        assert "Longest streak : 32 days" in result.stdout  # the big day (Feb 29) and the month after it


def test_activity_models_round_trip_at_the_bounds():
    for payload in [*extreme_summaries()[:5], extreme_detail(5, samples=4)]:
        activity = Activity.model_validate(payload)
        assert Activity.model_validate(activity.to_payload()) == activity
