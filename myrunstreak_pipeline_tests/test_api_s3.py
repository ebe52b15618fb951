"""The query API over an ``s3://`` database on a real moto server: pinned reads, the ETag checked at most every
``api_refresh_seconds`` and re-attached only when it changed, answers equal to a local copy, no torn answer
while a writer publishes, and 503s (never a secret) when the object cannot be read."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from pathlib import Path

import duckdb
import pytest
import requests
from fastapi.testclient import TestClient

from myrunstreak_pipeline.analytics.report import streak_card
from myrunstreak_pipeline.analytics.rule import set_streak_rule
from myrunstreak_pipeline.api.app import create_app
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline.duckdb_ops.s3 import S3DatabasePublisher, parse_s3_uri
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline.sql import load_sql
from myrunstreak_pipeline_tests.fixtures.s3 import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY
from myrunstreak_pipeline_tests.fixtures.serve import served

PROBLEM = "application/problem+json"
TODAY = dt.date(1970, 3, 1)


def _apply(count: int):
    def apply(path: Path) -> int:
        with DuckDBManager(path) as manager:
            with manager.transaction() as connection:
                connection.execute(load_sql("testing/synthetic_runs.sql"), {"first_id": 0, "count": count})
            RunRepository(manager.connection).set_sync_state({"test.run_count": str(count)})
            set_streak_rule(manager.connection, 1.609344, "sum", "UTC")
        return count

    return apply


def _publish(s3_client, uri: str, workdir: Path, count: int) -> str:
    publisher = S3DatabasePublisher(s3_client, parse_s3_uri(uri), run_id=f"w-{count}", workdir=workdir)
    return publisher.run(_apply(count)).etag.strip('"')


def _bucket(s3_client, versioned: bool) -> str:
    name = f"myrunstreak-api-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    if versioned:
        s3_client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _client(uri: str, endpoint: str, refresh: float) -> TestClient:
    settings = Settings.from_env(db=uri, s3_endpoint_url=endpoint, api_refresh_seconds=refresh)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def test_s3_answers_equal_a_local_copy_and_heads_are_rate_limited(s3_client, s3_bucket, aws_env, tmp_path):
    uri = f"s3://{s3_bucket}/a/runs.duckdb"
    etag = _publish(s3_client, uri, tmp_path, 80)
    copy = tmp_path / "copy.duckdb"
    s3_client.download_file(s3_bucket, "a/runs.duckdb", str(copy))
    with _client(uri, aws_env, refresh=3600) as client:
        health = client.get("/v1/health").json()
        assert health["database"]["etag"] == etag and health["runs"] == 80
        streak = client.get(f"/v1/streak?today={TODAY}").json()
        with duckdb.connect(str(copy), read_only=True) as con:
            card = streak_card(con, TODAY)
        assert streak["current"] == {k: v for k, v in card["current"].items() if k != "years_days"}
        assert streak["today"] == card["today"] and streak["longest"] == card["longest"]
        tag = client.get("/v1/runs?limit=10").headers["etag"]
        for _ in range(20):
            assert client.get("/v1/runs?limit=10", headers={"If-None-Match": tag}).status_code == 304
        database = client.app.state.database
        reader = database._reader
        assert database.heads == 1 and reader.pinned  # one HEAD for 24 requests: the refresh window holds

        # A new version is seen once the window has passed, and only then re-attached.
        new_etag = _publish(s3_client, uri, tmp_path, 90)
        assert client.get("/v1/health").json()["runs"] == 80  # still inside the window: the pinned version
        reader.refresh_seconds = 0
        health = client.get("/v1/health").json()
        assert health["runs"] == 90 and health["database"]["etag"] == new_etag
        assert client.get("/v1/runs?limit=10", headers={"If-None-Match": tag}).status_code == 200


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "unversioned"])
def test_a_publish_during_reads_never_yields_a_torn_answer(s3_client, aws_env, tmp_path, versioned):
    bucket = _bucket(s3_client, versioned)
    uri = f"s3://{bucket}/runs.duckdb"
    etags = {_publish(s3_client, uri, tmp_path / "w0", 40): 40}
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        count = 40
        try:
            while not stop.is_set() and count < 40 + 3 * 12:
                count += 3
                etags[_publish(s3_client, uri, tmp_path / f"w{count}", count)] = count
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    thread = threading.Thread(target=writer)
    answers = []
    with _client(uri, aws_env, refresh=0) as client:
        thread.start()
        try:
            while thread.is_alive() or len(answers) < 10:
                response = client.get("/v1/health")
                assert response.status_code == 200, response.text
                body = response.json()
                answers.append((body["database"]["etag"], body["runs"], response.headers["etag"]))
                if len(answers) > 400:
                    break
        finally:
            stop.set()
            thread.join()
    assert not errors
    for etag, runs, header in answers:
        assert etags[etag] == runs  # the answer and its ETag come from one whole version
        assert header.startswith(f'W/"{etag}.')
    assert len({etag for etag, _, _ in answers}) > 1  # the reads really did overlap publishes


def test_a_missing_object_or_bucket_is_503_without_secrets(s3_client, s3_bucket, aws_env):
    for uri in (f"s3://{s3_bucket}/nothing.duckdb", f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/r.duckdb"):
        with _client(uri, aws_env, refresh=5) as client:
            response = client.get("/v1/streak")
            assert response.status_code == 503 and response.headers["content-type"].startswith(PROBLEM)
            body = response.json()
            assert body["status"] == 503 and "database" in body["detail"]
            for secret in (FAKE_SECRET_ACCESS_KEY, FAKE_ACCESS_KEY_ID, "X-Amz-Signature", "Traceback"):
                assert secret not in response.text


def test_an_object_that_is_not_a_database_is_503(s3_client, s3_bucket, aws_env):
    s3_client.put_object(Bucket=s3_bucket, Key="junk.duckdb", Body=b"not a database" * 400)
    with _client(f"s3://{s3_bucket}/junk.duckdb", aws_env, refresh=5) as client:
        response = client.get("/v1/health")
        assert response.status_code == 503 and "not a readable DuckDB database" in response.json()["detail"]


def test_myrunstreak_serve_reads_s3_over_http(s3_client, s3_bucket, aws_env, tmp_path):
    uri = f"s3://{s3_bucket}/served.duckdb"
    etag = _publish(s3_client, uri, tmp_path, 50)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYRUNSTREAK_")}
    env |= {"MYRUNSTREAK_S3_ENDPOINT_URL": aws_env, "MYRUNSTREAK_API_REFRESH_SECONDS": "0"}
    with served(uri, tmp_path / "serve.log", env=env) as base:
        response = requests.get(f"{base}/v1/health", timeout=10)
        assert response.status_code == 200 and response.json()["database"]["etag"] == etag
        assert response.json()["runs"] == 50
        tag = response.headers["ETag"]
        assert requests.get(f"{base}/v1/health", headers={"If-None-Match": tag}, timeout=10).status_code == 304
        new_etag = _publish(s3_client, uri, tmp_path, 60)
        fresh = requests.get(f"{base}/v1/health", headers={"If-None-Match": tag}, timeout=10)
        assert fresh.status_code == 200 and fresh.json()["database"]["etag"] == new_etag
        assert FAKE_SECRET_ACCESS_KEY not in fresh.text
