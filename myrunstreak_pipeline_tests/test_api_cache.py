"""Answers cached by ETag: a repeated GET or a revalidation of an unchanged database does not read it again; a
new version, another URL or another local day is never answered from the cache."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from fastapi.testclient import TestClient

from myrunstreak_pipeline.api.app import create_app
from myrunstreak_pipeline.api.cache import BoundedCache
from myrunstreak_pipeline.api.database import ApiDatabase
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline_tests.fixtures.payloads import synthetic_history


class CountingDatabase(ApiDatabase):
    """The real local-file database, counting how often it is opened and read."""

    reads = 0

    def read(self, fn):
        self.reads += 1
        return super().read(fn)


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "cache.duckdb"
    with DuckDBManager(path) as manager:
        RunRepository(manager.connection).upsert_activities(synthetic_history(60, first_day=dt.date(2026, 1, 1)))
    return path


@pytest.fixture
def app_and_db(db_path):
    database = CountingDatabase(str(db_path))
    with TestClient(create_app(Settings.from_env(db=str(db_path)), database=database)) as client:
        yield client, database


def test_a_repeated_get_is_answered_without_reading(app_and_db):
    client, database = app_and_db
    first = client.get("/v1/streak")
    assert first.status_code == 200 and database.reads == 1
    for _ in range(5):
        again = client.get("/v1/streak")
        assert again.status_code == 200 and again.json() == first.json()
        assert again.headers["ETag"] == first.headers["ETag"]
    revalidated = client.get("/v1/streak", headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 304
    assert database.reads == 1


def test_another_url_is_read_and_cached_separately(app_and_db):
    client, database = app_and_db
    a = client.get("/v1/runs?limit=5")
    b = client.get("/v1/runs?limit=6")
    assert a.headers["ETag"] != b.headers["ETag"] and len(a.json()["items"]) == 5 and len(b.json()["items"]) == 6
    assert database.reads == 2
    assert client.get("/v1/streak?today=2026-02-01").json()["as_of"] == "2026-02-01"
    assert client.get("/v1/streak?today=2026-02-02").json()["as_of"] == "2026-02-02"
    assert database.reads == 4


def test_a_new_version_is_read_again(app_and_db, db_path):
    client, database = app_and_db
    before = client.get("/v1/runs?limit=500")
    time.sleep(0.01)  # a distinct mtime
    with DuckDBManager(db_path) as manager:
        RunRepository(manager.connection).upsert_activities(synthetic_history(61, first_day=dt.date(2026, 1, 1)))
    after = client.get("/v1/runs?limit=500")
    assert after.headers["ETag"] != before.headers["ETag"]
    assert len(after.json()["items"]) == len(before.json()["items"]) + 1
    assert client.get("/v1/runs?limit=500", headers={"If-None-Match": before.headers["ETag"]}).status_code == 200
    assert database.reads == 2  # the new version was read once; its answer then came from the cache


def test_the_cache_is_bounded_least_recently_used_first():
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3 and len(cache) == 2
