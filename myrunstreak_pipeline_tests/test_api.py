"""The query API (design.md §6) over a real DuckDB file: every endpoint's JSON equals the CLI and the views on the
same database, keyset paging under concurrent inserts, ETag/304, every error path as problem+json, CORS, and
``myrunstreak serve`` over real HTTP."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import duckdb
import pytest
import requests
from fastapi.testclient import TestClient

from myrunstreak_pipeline.analytics.report import streak_card
from myrunstreak_pipeline.analytics.rule import set_streak_rule
from myrunstreak_pipeline.api import routes
from myrunstreak_pipeline.api.app import create_app
from myrunstreak_pipeline.api.database import ApiDatabase
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline_tests.fixtures.payloads import detail_run, local_start, synthetic_history
from myrunstreak_pipeline_tests.fixtures.serve import MYRUNSTREAK, served

ZONE = "America/New_York"
TODAY = dt.date(1990, 5, 20)  # inside the synthetic history
PROBLEM = "application/problem+json"
DETAIL_ID = "777"


def _build(path: Path, count: int = 180) -> Path:
    with DuckDBManager(str(path)) as manager:
        repo = RunRepository(manager.connection)
        repo.upsert_activities(synthetic_history(count, first_day=dt.date(1990, 1, 1)))
        repo.upsert_activities(
            [detail_run(DETAIL_ID, startDateTimeLocal=local_start("1990-02-03", "18:00"))], payload_kind="detail"
        )
        repo.set_sync_state({"summaries.updated_since": "1"})
        set_streak_rule(manager.connection, 1.609344, "sum", ZONE)
    return path


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("api") / "runs.duckdb")


@pytest.fixture(scope="module")
def client(db_path) -> TestClient:
    with TestClient(create_app(Settings.from_env(db=str(db_path))), raise_server_exceptions=False) as test_client:
        yield test_client


def _view(db_path: Path, sql: str, params=None) -> list[dict]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        cursor = con.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _iso(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == status
    assert "Traceback" not in response.text and "/tmp" not in response.text and str(Path.home()) not in response.text
    return body


# ------------------------------------------------------------------------------------- equal to CLI and views


def test_streak_equals_the_cli_json_plus_today(client, db_path):
    cli = subprocess.run(
        [str(MYRUNSTREAK), "streak", "--db", str(db_path), "--today", TODAY.isoformat(), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("MYRUNSTREAK_")},
    )
    expected = json.loads(cli.stdout)
    body = client.get(f"/v1/streak?today={TODAY}").json()
    today = body.pop("today")
    assert body == expected
    with duckdb.connect(str(db_path), read_only=True) as con:
        card = streak_card(con, TODAY)
    assert today == card["today"] and today["needed_km"] == 0.0 and today["km"] > 0


def test_streak_follows_the_runners_zone_not_the_servers(client, db_path):
    body = client.get("/v1/streak").json()
    assert body["as_of"] == dt.datetime.now(dt.UTC).astimezone(__import__("zoneinfo").ZoneInfo(ZONE)).date().isoformat()


def test_health(client, db_path):
    body = client.get("/v1/health").json()
    runs = _view(db_path, "SELECT count(*) AS n FROM runs WHERE NOT deleted")[0]["n"]
    assert body["status"] == "ok" and body["runs"] == runs and body["schema_version"] >= 3
    assert body["database"]["size_bytes"] == db_path.stat().st_size and body["database"]["last_sync_utc"]


def test_summaries_equal_the_views(client, db_path):
    views = {"daily": ("daily_summary", "day"), "weekly": ("weekly_summary", "week_start")}
    views |= {"monthly": ("monthly_summary", "month_start"), "yearly": ("yearly_summary", None)}
    for period, (view, column) in views.items():
        rows = _view(db_path, f"SELECT * FROM {view} ORDER BY {column or 'year'}")
        items = client.get(f"/v1/summaries/{period}").json()["items"]
        assert len(items) == len(rows) > 0
        for item, row in zip(items, rows):
            start = row[column] if column else dt.date(row["year"], 1, 1)
            assert item["period"] == start.isoformat()
            assert (item["runs"], item["km"]) == (row["run_count"], row["total_km"])
            assert item["seconds"] == pytest.approx(row["total_seconds"])  # a float sum: order-dependent digits
            assert item["miles"] == pytest.approx(row["total_km"] / 1.609344)
    first, last = "1990-02-01", "1990-03-31"
    monthly = client.get(f"/v1/summaries/monthly?from={first}&to={last}").json()["items"]
    assert [item["period"] for item in monthly] == ["1990-02-01", "1990-03-01"]


def test_records_trends_eddington_streaks_equal_the_views(client, db_path):
    records = [{k: _iso(v) for k, v in row.items()} for row in _view(db_path, "SELECT * FROM personal_records")]
    assert client.get("/v1/records").json()["items"] == records
    eddington = {row["unit"]: row for row in _view(db_path, "SELECT * FROM eddington")}
    body = client.get("/v1/eddington").json()
    for unit, name in (("km", "km"), ("mi", "miles")):
        row = eddington[unit]
        assert body[name] == {
            "number": row["eddington_number"],
            "next": row["next_number"],
            "days_needed": row["days_needed_for_next"],
        }
    last = _view(db_path, "SELECT * FROM distance_trends ORDER BY day DESC LIMIT 1")[0]
    trends = client.get("/v1/trends").json()
    for key in ("rolling_7d_km", "rolling_28d_km", "rolling_365d_km", "year_to_date_km"):
        assert trends[key] == last[key]
    assert trends["day"] == last["day"].isoformat() and trends["years"][0]["year"] == last["day"].year
    streaks = _view(db_path, "SELECT * FROM streak_analysis ORDER BY streak_rank")
    body = client.get("/v1/streaks").json()
    assert body["total"] == len(streaks)
    assert [(s["start"], s["end"], s["days"]) for s in body["items"]] == [
        (s["start_date"].isoformat(), s["end_date"].isoformat(), s["days"]) for s in streaks
    ]
    assert client.get("/v1/streaks?min_days=2&limit=1&offset=0").json()["items"] == body["items"][:1]


def test_runs_and_one_run(client, db_path):
    rows = _view(db_path, "SELECT * FROM runs WHERE NOT deleted ORDER BY start_date_time_local DESC, activity_id DESC")
    page = client.get("/v1/runs?limit=5").json()
    assert [run["activity_id"] for run in page["items"]] == [row["activity_id"] for row in rows[:5]]
    first = page["items"][0]
    assert first["km"] == rows[0]["distance_km"] and first["date"] == rows[0]["start_date"].isoformat()
    assert re.fullmatch(r"[+-]\d\d:\d\d", first["utc_offset"])
    detail = client.get(f"/v1/runs/{DETAIL_ID}").json()
    assert detail["details_fetched"] is True and len(detail["laps"]) == 3
    assert detail["recording"] == {"points": 6, "has_gps": True, "has_heart_rate": True}
    summary_only = client.get(f"/v1/runs/{rows[0]['activity_id']}").json()
    assert summary_only["details_fetched"] is False and summary_only["laps"] is None
    dated = client.get("/v1/runs?from=1990-02-03&to=1990-02-03&limit=500").json()
    assert DETAIL_ID in {run["activity_id"] for run in dated["items"]} and dated["next"] is None


def test_calendar_svg_and_openapi(client):
    response = client.get("/v1/calendar.svg?years=1")
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in response.content[:2000] and response.headers["etag"]
    schema = client.get("/openapi.json").json()
    assert {"/v1/health", "/v1/streak", "/v1/runs", "/v1/runs/{activity_id}", "/v1/eddington"} <= schema["paths"].keys()
    assert "Streak" in schema["components"]["schemas"] and "Run" in schema["components"]["schemas"]


# ------------------------------------------------------------------------------------------------ caching


def test_etag_and_304(client, tmp_path):
    for url in ("/v1/health", "/v1/streak", "/v1/runs?limit=3", "/v1/summaries/weekly", "/v1/eddington"):
        first = client.get(url)
        tag = first.headers["etag"]
        assert tag.startswith('W/"') and first.headers["cache-control"] == "no-cache"
        again = client.get(url, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.headers["etag"] == tag and again.content == b""
        assert client.get(url, headers={"If-None-Match": f'"other", {tag}'}).status_code == 304
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get("/v1/runs?limit=3").headers["etag"] != client.get("/v1/runs?limit=4").headers["etag"]


def test_a_new_database_version_changes_the_etag(tmp_path):
    path = _build(tmp_path / "runs.duckdb", count=20)
    with TestClient(create_app(Settings.from_env(db=str(path)))) as client:
        tag = client.get("/v1/streak").headers["etag"]
        with DuckDBManager(str(path)) as manager:  # the API holds no lock between requests: a writer gets in
            RunRepository(manager.connection).upsert_activities(synthetic_history(1, first_id=90_000_000))
        response = client.get("/v1/streak", headers={"If-None-Match": tag})
        assert response.status_code == 200 and response.headers["etag"] != tag


def test_the_streak_page(client, tmp_path, monkeypatch):
    monkeypatch.setattr(routes, "STATIC_DIR", tmp_path)
    _problem(client.get("/"), 404)
    (tmp_path / "index.html").write_text("<!doctype html><title>streak</title>")
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert client.get("/", headers={"If-None-Match": response.headers["etag"]}).status_code == 304


# ---------------------------------------------------------------------------------------------- paging


def test_paging_covers_every_run_once_under_concurrent_inserts(tmp_path):
    path = _build(tmp_path / "runs.duckdb", count=60)
    before = {row["activity_id"] for row in _view(path, "SELECT activity_id FROM runs WHERE NOT deleted")}
    seen: list[str] = []
    with TestClient(create_app(Settings.from_env(db=str(path)))) as client:
        url, inserted = "/v1/runs?limit=7", 0
        while url:
            body = client.get(url).json()
            seen += [run["activity_id"] for run in body["items"]]
            # a writer inserts between pages: runs newer than everything, older than everything, in the middle
            with DuckDBManager(str(path)) as manager:
                day = [dt.date(2030, 1, 1), dt.date(1980, 1, 1), dt.date(1990, 1, 15)][inserted % 3]
                new = synthetic_history(1, first_day=day, first_id=95_000_000 + inserted)
                RunRepository(manager.connection).upsert_activities(new)
            inserted += 1
            url = f"/v1/runs?limit=7&after={body['next']}" if body["next"] else None
    assert len(seen) == len(set(seen))  # never twice
    assert before <= set(seen)  # every run present at the start, exactly once


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/v1/runs?limit=0", "limit"),
        ("/v1/runs?limit=501", "limit"),
        ("/v1/runs?limit=ten", "limit"),
        ("/v1/runs?from=1990-02-30", "from"),
        ("/v1/runs?to=yesterday", "to"),
        ("/v1/runs?from=1990-03-01&to=1990-02-01", "from"),
        ("/v1/runs?after=not-a-cursor", "after"),
        ("/v1/runs?after=WyJ4Il0", "after"),
        ("/v1/streak?today=2024-13-01", "today"),
        ("/v1/streaks?min_days=0", "min_days"),
        ("/v1/streaks?offset=-1", "offset"),
        ("/v1/summaries/hourly", "period"),
        ("/v1/summaries/daily?from=1990-03-01&to=1990-01-01", "from"),
        ("/v1/calendar.svg?years=0", "years"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(client, url, param):
    body = _problem(client.get(url), 422)
    assert param in [error["param"] for error in body["errors"]] and param in body["detail"]


def test_unknown_ids_and_paths_are_404(client):
    assert "no run" in _problem(client.get("/v1/runs/does-not-exist"), 404)["detail"]
    _problem(client.get("/v1/nothing-here"), 404)
    _problem(client.post("/v1/streak"), 405)


@pytest.mark.parametrize("kind", ["missing", "garbage", "no-views", "folder"])
def test_an_unreadable_database_is_503_without_its_path(tmp_path, kind):
    path = tmp_path / "secret-folder" / "runs.duckdb"
    path.parent.mkdir()
    if kind == "garbage":
        path.write_text("not a database\n" * 100)
    elif kind == "no-views":
        duckdb.connect(str(path)).close()
    elif kind == "folder":
        path.mkdir()
    with TestClient(create_app(Settings.from_env(db=str(path))), raise_server_exceptions=False) as client:
        for url in ("/v1/health", "/v1/streak", "/v1/runs"):
            body = _problem(client.get(url), 503)
            assert "database" in body["detail"] and "secret-folder" not in client.get(url).text


def test_an_unexpected_error_is_a_plain_500(db_path):
    class Broken:
        def read(self, fn):
            raise RuntimeError(f"boom at {db_path} with password hunter2")

        def close(self):
            pass

    app = create_app(Settings.from_env(db=str(db_path)), database=Broken())
    with TestClient(app, raise_server_exceptions=False) as client:
        body = _problem(client.get("/v1/streak"), 500)
        assert "hunter2" not in json.dumps(body) and "boom" not in json.dumps(body)


def test_cors_is_off_by_default_and_configurable(client, db_path):
    origin = {"Origin": "https://friend.example.org"}
    assert "access-control-allow-origin" not in client.get("/v1/health", headers=origin).headers
    settings = Settings.from_env(db=str(db_path), api_cors_origins="https://friend.example.org")
    with TestClient(create_app(settings)) as cors:
        headers = cors.get("/v1/health", headers=origin).headers
        assert headers["access-control-allow-origin"] == "https://friend.example.org"
        assert "etag" in headers["access-control-expose-headers"].lower()


def test_the_database_file_is_only_read(db_path):
    before = (db_path.stat().st_mtime_ns, db_path.stat().st_size)
    database = ApiDatabase(str(db_path))
    database.read(lambda con, version: con.execute("SELECT count(*) FROM runs").fetchone())
    with pytest.raises(duckdb.Error):
        database.read(lambda con, version: con.execute("DELETE FROM runs"))
    assert (db_path.stat().st_mtime_ns, db_path.stat().st_size) == before


# ---------------------------------------------------------------------------------------- myrunstreak serve


def test_myrunstreak_serve_over_http(db_path, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYRUNSTREAK_", "AWS_"))}
    with served(db_path, tmp_path / "serve.log", env=env, args=("--workers", "2")) as base:
        response = requests.get(f"{base}/v1/streak?today={TODAY}", timeout=5)
        assert response.status_code == 200
        cli = subprocess.run(
            [str(MYRUNSTREAK), "streak", "--db", str(db_path), "--today", TODAY.isoformat(), "--json"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        body = response.json()
        body.pop("today")
        assert body == json.loads(cli.stdout)
        again = requests.get(f"{base}/v1/streak?today={TODAY}", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
        bad = requests.get(f"{base}/v1/runs?limit=9999", timeout=5)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
        pages = []
        url = f"{base}/v1/runs?limit=100"
        while url:
            page = requests.get(url, timeout=5).json()
            pages += page["items"]
            url = f"{base}/v1/runs?limit=100&after={page['next']}" if page["next"] else None
        assert (
            len(pages) == len({run["activity_id"] for run in pages}) == requests.get(f"{base}/v1/health").json()["runs"]
        )
