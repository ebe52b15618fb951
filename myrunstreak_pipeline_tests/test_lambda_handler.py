"""The Lambda entry point (``api.lambda_handler.handler``) against a database published to a moto S3 server,
driven by recorded API Gateway events: REST API (payload 1.0) and HTTP API (2.0) shapes in ``fixtures/apigw``.

The handler module builds its app at import (settings read once), so each test sets the environment and
reloads the module, exactly as a new Lambda instance would start.
"""

from __future__ import annotations

import base64
import copy
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest

from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline.duckdb_ops.s3 import S3DatabasePublisher, parse_s3_uri
from myrunstreak_pipeline_tests.fixtures.payloads import gps_run, local_start

EVENTS = Path(__file__).resolve().parent / "fixtures" / "apigw"
TODAY = "2026-11-26"
NOVEMBER = [f"2026-11-{day:02d}" for day in range(1, 27)]  # one run a day, Nov 1 .. Nov 26: a 26-day streak
EARLIER = "2026-10-20"  # a lone earlier run
V1, V2 = "rest_api_v1_get.json", "http_api_v2_get.json"
V1_INM, V2_INM = "rest_api_v1_if_none_match.json", "http_api_v2_if_none_match.json"


def api_event(name: str, path: str, query: dict[str, str] | None = None, headers: dict[str, str] | None = None):
    """The recorded event ``name`` re-aimed at ``path`` with ``query`` (every field API Gateway derives from
    them kept consistent) and ``headers`` added in the event's own header case."""
    event = copy.deepcopy(json.loads((EVENTS / name).read_text(encoding="utf-8")))
    query = query or {}
    if event.get("version") == "2.0":
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["rawQueryString"] = urlencode(query)
        event["queryStringParameters"] = dict(query) or None
        if not query:
            event.pop("queryStringParameters")
        for key, value in (headers or {}).items():
            event["headers"][key.lower()] = value  # HTTP APIs lower-case header names
    else:
        event["path"] = path
        event["pathParameters"] = {"proxy": path.lstrip("/")}
        event["requestContext"]["path"] = f"/{event['requestContext']['stage']}{path}"
        event["queryStringParameters"] = dict(query) or None
        event["multiValueQueryStringParameters"] = {key: [value] for key, value in query.items()} or None
        for key, value in (headers or {}).items():
            event["headers"][key] = value
            event["multiValueHeaders"][key] = [value]
    return event


def body_of(response: dict) -> dict:
    assert response["isBase64Encoded"] is False, "a JSON answer must reach API Gateway as text"
    return json.loads(response["body"])


def header(response: dict, name: str) -> str | None:
    return {key.lower(): value for key, value in response["headers"].items()}.get(name.lower())


def _history(extra_days: tuple[str, ...] = ()) -> list[dict]:
    days = [EARLIER, *NOVEMBER, *extra_days]
    return [
        gps_run(activity_id=70_000 + index, start=local_start(day, "07:30", "+00:00"), distance=5.0 + index / 10)
        for index, day in enumerate(days)
    ]


def publish(s3_client, uri: str, workdir: Path, payloads: list[dict], run_id: str) -> None:
    def apply(path: Path) -> None:
        with DuckDBManager(path) as manager:
            result = RunRepository(manager.connection).upsert_activities(payloads)
            assert result.loaded == len(payloads) and not result.quarantined

    S3DatabasePublisher(s3_client, parse_s3_uri(uri), run_id=run_id, workdir=workdir).run(apply)


@pytest.fixture
def published(s3_client, s3_db_uri, tmp_path) -> str:
    publish(s3_client, s3_db_uri, tmp_path / "work", _history(), "lambda-test-1")
    return s3_db_uri


@pytest.fixture
def start_lambda(aws_env, monkeypatch, tmp_path) -> Iterator:
    """``start_lambda(db=…, refresh=…, **env)``: a fresh 'instance' (the module re-imported) on that environment."""
    from myrunstreak_pipeline.api import lambda_handler

    started = []

    def start(db: str, refresh: str = "60", **env: str):
        monkeypatch.setenv("MYRUNSTREAK_DB", db)
        monkeypatch.setenv("MYRUNSTREAK_API_REFRESH_SECONDS", refresh)
        monkeypatch.setenv("MYRUNSTREAK_TIMEZONE", "UTC")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        module = importlib.reload(lambda_handler)
        started.append(module)
        return module

    yield start
    for module in started:
        if module.database is not None:
            module.database.close()


@pytest.mark.parametrize("name", [V1, V2])
def test_health(published, start_lambda, name):
    module = start_lambda(published)
    response = module.handler(api_event(name, "/v1/health"), None)
    assert response["statusCode"] == 200, response
    body = body_of(response)
    assert body["status"] == "ok" and body["runs"] == len(NOVEMBER) + 1
    assert body["database"]["size_bytes"] > 0 and body["database"]["etag"]
    assert header(response, "etag") and header(response, "content-type") == "application/json"


@pytest.mark.parametrize("name", [V1, V2])
def test_streak(published, start_lambda, name):
    module = start_lambda(published)
    response = module.handler(api_event(name, "/v1/streak", {"today": TODAY}), None)
    assert response["statusCode"] == 200, response
    body = body_of(response)
    assert body["as_of"] == TODAY
    assert body["current"] == {
        "days": 26,
        "start": NOVEMBER[0],
        "end": TODAY,
        "status": "active",
        "days_only_from_files": 0,
        "override_days": 0,
    }
    assert body["longest"]["days"] == 26


@pytest.mark.parametrize("name", [V1, V2])
def test_runs_keyset_paging(published, start_lambda, name):
    module = start_lambda(published)
    seen, query = [], {"limit": "5"}
    for _page in range(20):
        response = module.handler(api_event(name, "/v1/runs", query), None)
        assert response["statusCode"] == 200, response
        page = body_of(response)
        assert len(page["items"]) <= 5
        seen += page["items"]
        if page["next"] is None:
            break
        query = {"limit": "5", "after": page["next"]}
    dates = [run["date"] for run in seen]
    assert dates == sorted([EARLIER, *NOVEMBER], reverse=True)  # newest first, nothing twice, nothing lost
    assert len({run["activity_id"] for run in seen}) == len(seen)


def test_runs_as_recorded_keep_their_query(published, start_lambda):
    """The recorded events as they are (?limit=2&from=2026-11-01) answer the same through either payload."""
    module = start_lambda(published)
    v1, v2 = (
        body_of(module.handler(api_event(name, "/v1/runs", {"limit": "2", "from": "2026-11-01"}), None))
        for name in (V1, V2)
    )
    assert v1 == v2 and [run["date"] for run in v1["items"]] == ["2026-11-26", "2026-11-25"]
    recorded = json.loads((EVENTS / V2).read_text(encoding="utf-8"))
    assert parse_qs(recorded["rawQueryString"]) == {"limit": ["2"], "from": ["2026-11-01"]}


@pytest.mark.parametrize(("name", "revalidate"), [(V1, V1_INM), (V2, V2_INM)])
def test_if_none_match_answers_304(published, start_lambda, name, revalidate):
    module = start_lambda(published)
    first = module.handler(api_event(name, "/v1/streak", {"today": TODAY}), None)
    tag = header(first, "etag")
    assert first["statusCode"] == 200 and tag
    event = api_event(revalidate, "/v1/streak", {"today": TODAY})
    key = "if-none-match" if "version" in event else "If-None-Match"  # the case each gateway delivers
    assert key in event["headers"]
    event["headers"][key] = tag
    if "multiValueHeaders" in event:
        event["multiValueHeaders"][key] = [tag]
    again = module.handler(event, None)
    assert again["statusCode"] == 304, again
    assert again["body"] == "" and header(again, "etag") == tag
    event["headers"][key] = 'W/"another-version"'
    if "multiValueHeaders" in event:
        event["multiValueHeaders"][key] = ['W/"another-version"']
    assert module.handler(event, None)["statusCode"] == 200


@pytest.mark.parametrize("name", [V1, V2])
def test_not_found_is_problem_json(published, start_lambda, name):
    module = start_lambda(published)
    for path in ("/v1/runs/999999999", "/v2/nothing-here"):
        response = module.handler(api_event(name, path), None)
        assert response["statusCode"] == 404, response
        assert header(response, "content-type") == "application/problem+json"
        problem = body_of(response)
        assert problem["status"] == 404 and problem["title"] and problem["detail"]


@pytest.mark.parametrize("name", [V1, V2])
def test_bad_parameter_is_422_naming_it(published, start_lambda, name):
    module = start_lambda(published)
    response = module.handler(api_event(name, "/v1/runs", {"limit": "0"}), None)
    assert response["statusCode"] == 422, response
    assert header(response, "content-type") == "application/problem+json"
    problem = body_of(response)
    assert problem["status"] == 422 and [error["param"] for error in problem["errors"]] == ["limit"]


def test_base64_post_is_405_problem(published, start_lambda):
    module = start_lambda(published)
    event = json.loads((EVENTS / "http_api_v2_post_base64.json").read_text(encoding="utf-8"))
    assert json.loads(base64.b64decode(event["body"])) == {"activityId": "123"}
    response = module.handler(event, None)
    assert response["statusCode"] == 405, response
    assert body_of(response)["status"] == 405


@pytest.mark.parametrize("name", [V1, V2])
def test_missing_object_is_503(s3_bucket, start_lambda, name):
    module = start_lambda(f"s3://{s3_bucket}/athletes/nobody/runstreak.duckdb")
    response = module.handler(api_event(name, "/v1/health"), None)
    assert response["statusCode"] == 503, response
    assert header(response, "content-type") == "application/problem+json"
    problem = body_of(response)
    assert problem["status"] == 503 and "\n" not in problem["detail"]
    assert s3_bucket not in response["body"] and "nobody" not in response["body"]  # no server detail leaks


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MYRUNSTREAK_API_REFRESH_SECONDS", "soon"), ("MYRUNSTREAK_TIMEZONE", "Mars/Olympus_Mons")],
)
@pytest.mark.parametrize("name", [V1, V2])
def test_bad_setting_answers_503_not_a_crash(published, start_lambda, variable, value, name):
    module = start_lambda(published, **{variable: value})
    assert module.database is None
    for path in ("/v1/health", "/"):
        response = module.handler(api_event(name, path), None)
        assert response["statusCode"] == 503, response
        assert header(response, "content-type") == "application/problem+json"
        problem = body_of(response)
        assert problem["title"] == "Service Unavailable" and variable in problem["detail"]
        assert "\n" not in problem["detail"] and "Traceback" not in response["body"]


def test_warm_instance_reuses_its_attachment(published, start_lambda):
    module = start_lambda(published, refresh="60")
    first = module.handler(api_event(V2, "/v1/health"), None)
    reader = module.database.reader
    connection, heads = reader._connection, reader.heads
    for name, path in [(V1, "/v1/streak"), (V2, "/v1/runs"), (V1, "/v1/health")]:
        assert module.handler(api_event(name, path), None)["statusCode"] == 200
    assert module.database.reader is reader and reader._connection is connection
    assert reader.attaches == 1  # attached once, on the first request
    assert reader.heads == heads  # within the refresh interval a pinned version needs no HEAD at all
    assert header(module.handler(api_event(V2, "/v1/health"), None), "etag") == header(first, "etag")


def test_new_version_is_attached_after_the_refresh_interval(published, start_lambda, s3_client, tmp_path):
    module = start_lambda(published, refresh="0")
    before = body_of(module.handler(api_event(V2, "/v1/health"), None))
    reader = module.database.reader
    connection = reader._connection
    assert module.handler(api_event(V1, "/v1/health"), None)["statusCode"] == 200
    assert reader.attaches == 1  # HEADed again (refresh 0) but the same version: no re-attach
    publish(s3_client, published, tmp_path / "work2", _history(("2026-11-27",)), "lambda-test-2")
    after = body_of(module.handler(api_event(V2, "/v1/health"), None))
    assert after["runs"] == before["runs"] + 1
    assert after["database"]["etag"] != before["database"]["etag"]
    assert reader.attaches == 2 and module.database.reader is reader and reader._connection is connection
    streak = body_of(module.handler(api_event(V1, "/v1/streak", {"today": "2026-11-27"}), None))
    assert streak["current"]["days"] == 27


COLD_START = """
import json, sys, time
started = time.perf_counter()
from myrunstreak_pipeline.api import lambda_handler
imported = time.perf_counter()
event = json.loads(sys.argv[1])
first = lambda_handler.handler(event, None)
answered = time.perf_counter()
warm = []
for _ in range(5):
    t = time.perf_counter(); lambda_handler.handler(event, None); warm.append(time.perf_counter() - t)
print(json.dumps({"status": first["statusCode"], "body": first["body"], "import_ms": (imported - started) * 1000,
    "first_ms": (answered - imported) * 1000, "warm_ms": sorted(warm)[2] * 1000}))
"""


def test_cold_start_without_home_writes_only_under_tmp(published, aws_env, tmp_path):
    """A Lambda-like process: HOME unset, an empty (read-only on Lambda) working directory, TMPDIR as /tmp.
    It answers, and nothing is written anywhere but the temporary directory."""
    task, scratch = tmp_path / "var-task", tmp_path / "lambda-tmp"
    task.mkdir()
    scratch.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "HOME"}
    env.update(
        MYRUNSTREAK_DB=published,
        MYRUNSTREAK_API_REFRESH_SECONDS="5",
        TMPDIR=str(scratch),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    event = json.dumps(api_event(V2, "/v1/streak", {"today": TODAY}))
    done = subprocess.run(
        [sys.executable, "-c", COLD_START, event], cwd=task, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 200, result
    assert json.loads(result["body"])["current"]["days"] == 26
    assert list(task.iterdir()) == []  # no .tmp, no .duckdb/ in the working directory
    assert (scratch / "myrunstreak" / "home").is_dir() and (scratch / "myrunstreak" / "duckdb-tmp").is_dir()
    print(
        f"\ncold start: import {result['import_ms']:.0f} ms, first answer {result['first_ms']:.0f} ms; "
        f"warm answer {result['warm_ms']:.1f} ms (median of 5)"
    )
