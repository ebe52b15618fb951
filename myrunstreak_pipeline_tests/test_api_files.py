"""The query API and the streak card over two sources: SmashRun runs plus imported activity files (real FIT/GPX/TCX
fixtures and small generated GPX tracks). A run recorded twice is listed once (as the record kept) and counted
once; the record merged away still answers by its id with ``duplicate_of``; a ride is listed as ``cycling`` but
never counted; the card tells how many days of the current streak rest only on files."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from myrunstreak_pipeline.analytics.report import format_card, format_card_markdown, streak_card, streak_report
from myrunstreak_pipeline.analytics.rule import set_streak_rule
from myrunstreak_pipeline.api.app import create_app
from myrunstreak_pipeline.cli import streak as streak_cli
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline.imports import discover, import_files
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline_tests.fixtures.payloads import gps_run, local_start
from myrunstreak_pipeline_tests.test_api import _view

ZONE = "America/New_York"
FILES = Path(__file__).parent / "fixtures" / "activity_files"
REAL_FILES = [
    FILES / "tcx" / "run_fr410_3laps_hr.tcx",  # 2012-12-26, a run only a file holds
    FILES / "fit" / "run_fr645m_laps_hr.fit",  # 2019-09-14, SmashRun records the same run (below)
    FILES / "gpx" / "run_tomtom_2segments.gpx",  # 2017-05-27: one run as GPX and as TCX (the TCX is kept)
    FILES / "tcx" / "run_tomtom.tcx",
    FILES / "fit" / "ride_coros_pace2_3h32.fit",  # 2020-10-25, a 32 km ride: listed, never counted
]
SMASHRUN_TWIN = 50_000_001  # SmashRun's record of the run in run_fr645m_laps_hr.fit
RIDE_DAY = "2020-10-25"
TODAY = dt.date(2024, 3, 10)  # the streak: 2024-03-01 .. 03-10, three of its days only from files
STREAK_DAYS = [dt.date(2024, 3, day) for day in range(1, 11)]
FILE_ONLY_DAYS = {dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 8)}


def gpx_track(start_utc: dt.datetime, km: float, *, lat: float = 40.7128, lon: float = -74.006) -> str:
    """A GPX run due north from (lat, lon) in New York: a point every 10 m and 3 s (12 km/h)."""
    points = []
    for step in range(round(km * 100) + 1):
        time = start_utc + dt.timedelta(seconds=3 * step)
        at = f"{lat + step * 10 / 111_320:.7f}"
        points.append(f'<trkpt lat="{at}" lon="{lon:.7f}"><time>{time:%Y-%m-%dT%H:%M:%SZ}</time></trkpt>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<gpx version="1.1" creator="myrunstreak tests" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>generated</name><type>running</type><trkseg>{''.join(points)}</trkseg></trk></gpx>"
    )


def _utc(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second)  # EST is UTC-5 in early March


def _streak_files(folder: Path) -> Path:
    """GPX tracks of the streak: the file-only days, a second run on a SmashRun day, and a watch's copy of a
    SmashRun run (30 s later, same distance: one run, SmashRun's record counts)."""
    folder.mkdir()
    tracks = {f"only_{day}.gpx": gpx_track(_utc(day, 12), 3.0) for day in FILE_ONLY_DAYS}
    tracks["evening_2024-03-06.gpx"] = gpx_track(_utc(dt.date(2024, 3, 6), 23), 2.0)  # 18:00 local
    tracks["watch_copy_2024-03-07.gpx"] = gpx_track(_utc(dt.date(2024, 3, 7), 12, 0, 30), 5.0)
    for name, text in tracks.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _build(path: Path, folder: Path) -> Path:
    with DuckDBManager(str(path)) as manager:
        con = manager.connection
        repo = RunRepository(con)
        summary = import_files(discover([*REAL_FILES, folder]), repo.store_activity_files, workers=1)
        assert summary.as_dict()["quarantined"] == 0
        # SmashRun's record of the FR645M run: the same start instant (SmashRun keeps whole minutes) and distance
        local, minutes, km = con.execute(
            "SELECT start_date_time_local, utc_offset_minutes, distance_km FROM runs r"
            " JOIN activity_files f USING (activity_id) WHERE f.file_name LIKE '%run_fr645m_laps_hr.fit'"
        ).fetchone()
        twin = gps_run(SMASHRUN_TWIN, start=f"{local:%Y-%m-%dT%H:%M}:00{_offset(minutes)}", distance=round(km, 3))
        smashrun = [twin, gps_run(50_000_002, start=local_start("2012-12-20", "07:00"), distance=6.0)]
        smashrun += [
            gps_run(50_000_100 + day.day, start=local_start(day, "07:00", "-05:00"), distance=5.0)
            for day in STREAK_DAYS
            if day not in FILE_ONLY_DAYS
        ]
        repo.upsert_activities(smashrun)
        set_streak_rule(con, 1.609344, "sum", ZONE)
    return path


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("api_files")
    return _build(folder / "runs.duckdb", _streak_files(folder / "tracks"))


@pytest.fixture(scope="module")
def client(db_path) -> TestClient:
    with TestClient(create_app(Settings.from_env(db=str(db_path))), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def ids(db_path) -> dict[str, str]:
    """activity_id by file name (the real fixtures' and the generated tracks')."""
    rows = _view(db_path, "SELECT activity_id, file_name FROM activity_files")
    return {Path(row["file_name"]).name: row["activity_id"] for row in rows}


def _all_runs(client: TestClient) -> list[dict]:
    items, url = [], "/v1/runs?limit=7"
    while url:
        body = client.get(url).json()
        items += body["items"]
        url = f"/v1/runs?limit=7&after={body['next']}" if body["next"] else None
    return items


# ------------------------------------------------------------------------------------------------ /v1/runs


def test_a_run_recorded_twice_is_listed_once_as_the_record_kept(client, ids):
    twin_day = client.get("/v1/runs?from=2019-09-14&to=2019-09-14").json()["items"]
    assert [(run["activity_id"], run["source"], run["duplicate_of"]) for run in twin_day] == [
        (str(SMASHRUN_TWIN), "smashrun", None)
    ]
    assert twin_day[0]["app_source"] == "garminhealth"
    tomtom = client.get("/v1/runs?from=2017-05-27&to=2017-05-27").json()["items"]
    assert [(run["activity_id"], run["source"]) for run in tomtom] == [(ids["run_tomtom.tcx"], "tcx")]
    listed = [run["activity_id"] for run in _all_runs(client)]
    assert ids["run_fr645m_laps_hr.fit"] not in listed and ids["run_tomtom_2segments.gpx"] not in listed
    assert ids["watch_copy_2024-03-07.gpx"] not in listed and len(listed) == len(set(listed))


def test_the_list_is_every_live_record_but_the_merged_away_and_health_counts_it(client, db_path):
    expected = _view(
        db_path,
        "SELECT activity_id FROM runs WHERE NOT deleted"
        " AND activity_id NOT IN (SELECT activity_id FROM run_duplicates)"
        " ORDER BY start_date_time_local DESC, activity_id DESC",
    )
    listed = _all_runs(client)
    assert [run["activity_id"] for run in listed] == [row["activity_id"] for row in expected]
    assert client.get("/v1/health").json()["runs"] == len(listed)
    assert {run["source"] for run in listed} == {"smashrun", "fit", "gpx", "tcx"}
    assert all(run["duplicate_of"] is None for run in listed)
    assert {run["app_source"] for run in listed if run["source"] != "smashrun"} == {"file:fit", "file:gpx", "file:tcx"}


def test_a_ride_is_listed_as_cycling_but_never_counted(client, db_path, ids):
    ride_id = ids["ride_coros_pace2_3h32.fit"]
    listed = client.get(f"/v1/runs?from={RIDE_DAY}&to={RIDE_DAY}").json()["items"]
    assert [(run["activity_id"], run["activity_type"], run["source"]) for run in listed] == [
        (ride_id, "cycling", "fit")
    ]
    assert listed[0]["km"] > 30
    for period in ("daily", "weekly", "monthly", "yearly"):
        items = client.get(f"/v1/summaries/{period}?from=2020-01-01&to=2020-12-31").json()["items"]
        assert items == [], period  # the only activity of 2020 is the ride
    records = client.get("/v1/records").json()["items"]
    assert ride_id not in {record["activity_id"] for record in records}
    longest = next(record for record in records if record["record"] == "longest_run")
    assert longest["value"] < 30
    detail = client.get(f"/v1/runs/{ride_id}").json()
    assert detail["file"]["sport"] == "cycling" and detail["activity_type"] == "cycling"


def test_a_duplicate_counts_once_in_the_summaries(client):
    days = client.get("/v1/summaries/daily?from=2024-03-01&to=2024-03-10").json()["items"]
    by_day = {item["period"]: item for item in days}
    assert [item["period"] for item in days] == [day.isoformat() for day in STREAK_DAYS]
    assert (by_day["2024-03-07"]["runs"], by_day["2024-03-07"]["km"]) == (1, 5.0)  # SmashRun + its watch copy
    assert by_day["2024-03-06"]["runs"] == 2  # SmashRun's morning run and a file's evening run: two runs
    assert by_day["2024-03-04"]["runs"] == 1 and by_day["2024-03-04"]["km"] == pytest.approx(3.0, abs=0.01)


# ------------------------------------------------------------------------------------------- /v1/runs/{id}


def test_a_merged_away_record_answers_with_duplicate_of_and_its_file(client, ids):
    file_id = ids["run_fr645m_laps_hr.fit"]
    response = client.get(f"/v1/runs/{file_id}")
    assert response.status_code == 200
    run = response.json()
    assert (run["source"], run["duplicate_of"], run["app_source"]) == ("fit", str(SMASHRUN_TWIN), "file:fit")
    file = run["file"]
    assert list(file) == [
        "format",
        "file_name",
        "title",
        "sport",
        "sport_raw",
        "zone_source",
        "time_zone",
        "elapsed_seconds",
        "device",
        "imported_at",
    ]
    assert file["format"] == "fit" and file["file_name"].endswith("run_fr645m_laps_hr.fit")
    assert file["sport"] == "running" and file["zone_source"] in ("file", "gps", "default")
    assert file["elapsed_seconds"] >= run["seconds"] and dt.datetime.fromisoformat(file["imported_at"])
    assert run["date"] == "2019-09-14"
    gpx = client.get(f"/v1/runs/{ids['run_tomtom_2segments.gpx']}").json()
    assert (gpx["source"], gpx["duplicate_of"]) == ("gpx", ids["run_tomtom.tcx"])
    generated = client.get(f"/v1/runs/{ids['only_2024-03-04.gpx']}").json()["file"]
    assert (generated["zone_source"], generated["time_zone"], generated["title"]) == ("gps", ZONE, None)
    assert generated["file_name"].endswith("only_2024-03-04.gpx")


def test_a_smashrun_run_has_no_file_and_the_kept_record_no_duplicate_of(client):
    run = client.get(f"/v1/runs/{SMASHRUN_TWIN}").json()
    assert (run["source"], run["app_source"], run["duplicate_of"], run["file"]) == (
        "smashrun",
        "garminhealth",
        None,
        None,
    )


def test_etag_and_304_for_a_file_run(client, ids):
    url = f"/v1/runs/{ids['run_fr645m_laps_hr.fit']}"
    tag = client.get(url).headers["etag"]
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert client.get(f"/v1/runs/{SMASHRUN_TWIN}").headers["etag"] != tag


def test_openapi_documents_the_new_fields(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"source", "app_source", "duplicate_of"} <= schemas["Run"]["properties"].keys()
    assert "file" in schemas["RunDetail"]["properties"] and "ActivityFile" in schemas
    assert "days_only_from_files" in schemas["CurrentStreak"]["properties"]


# ------------------------------------------------------------------------------------- the streak card


def test_days_only_from_files_in_the_api_the_json_and_the_card(client, db_path, capsys, monkeypatch):
    body = client.get(f"/v1/streak?today={TODAY}").json()
    assert body["current"] == {
        "days": 10,
        "start": "2024-03-01",
        "end": "2024-03-10",
        "status": "active",
        "days_only_from_files": len(FILE_ONLY_DAYS),
        "override_days": 0,
    }
    for name in ("MYRUNSTREAK_DB", "MYRUNSTREAK_TIMEZONE", "MYRUNSTREAK_STREAK_MIN_KM", "MYRUNSTREAK_STREAK_MODE"):
        monkeypatch.delenv(name, raising=False)
    parser = argparse.ArgumentParser()
    streak_cli.add_arguments(parser)
    assert streak_cli.command(parser.parse_args(["--db", str(db_path), "--today", str(TODAY), "--json"])) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {key: value for key, value in body.items() if key != "today"}
    streak_cli.command(parser.parse_args(["--db", str(db_path), "--today", str(TODAY)]))
    card = capsys.readouterr().out
    assert "  From files     : 3 days of this streak come only from activity files\n" in card
    with duckdb.connect(str(db_path), read_only=True) as con:
        markdown = format_card_markdown(streak_card(con, TODAY))
    assert "| From files | 3 days of this streak come only from activity files |" in markdown


def test_days_only_from_files_follows_the_rule_and_the_day(db_path):
    with duckdb.connect(str(db_path), read_only=True) as con:
        # 4 km in one run: the 3 km file-only days no longer qualify, the streak is 03-09 .. 03-10 (SmashRun)
        strict = streak_report(con, TODAY, 4.0, "strict")["current"]
        assert (strict["days"], strict["start"], strict["days_only_from_files"]) == (2, "2024-03-09", 0)
        # as of 03-08 (a file-only day): the streak 03-01 .. 03-08 holds all three file-only days
        eighth = streak_report(con, dt.date(2024, 3, 8))["current"]
        assert (eighth["days"], eighth["days_only_from_files"]) == (8, 3)
        # as of 03-05: two of them; broken (long after): none
        assert streak_report(con, dt.date(2024, 3, 5))["current"]["days_only_from_files"] == 2
        broken = streak_report(con, dt.date(2024, 6, 1))["current"]
        assert broken["status"] == "broken" and broken["days_only_from_files"] == 0
        card = streak_card(con, dt.date(2024, 3, 9))
    assert card["current"]["days_only_from_files"] == 3 and card["current"]["status"] == "active"


def test_the_card_has_no_files_line_without_file_only_days(db_path):
    with duckdb.connect(str(db_path), read_only=True) as con:
        card = streak_card(con, TODAY, 4.0, "strict")
        one = streak_card(con, dt.date(2024, 3, 4))
    assert "From files" not in format_card(card) and "From files" not in format_card_markdown(card)
    assert "  From files     : 1 day of this streak comes only from activity files" in format_card(one)
