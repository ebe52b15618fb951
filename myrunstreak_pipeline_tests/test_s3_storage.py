"""DuckDB-on-S3 storage against a real moto S3 server (server mode on loopback) and real DuckDB files."""

from __future__ import annotations

import hashlib
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from myrunstreak_pipeline.duckdb_ops.s3 import (
    ConflictError,
    PublishResult,
    ReadOnlyS3Database,
    S3DatabasePublisher,
    S3Location,
    is_s3_uri,
    make_s3_client,
    open_read_only,
    parse_s3_uri,
)
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline_tests.fixtures.s3 import (
    FAKE_ACCESS_KEY_ID,
    FAKE_SECRET_ACCESS_KEY,
    activity_ids,
    load_synthetic_runs,
    runs_loader,
    table_snapshot,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def _publisher(s3_client, uri: str, tmp_path: Path, run_id: str, **kwargs) -> S3DatabasePublisher:
    return S3DatabasePublisher(s3_client, parse_s3_uri(uri), run_id=run_id, workdir=tmp_path / "work", **kwargs)


def _object(s3_client, uri: str) -> tuple[str, bytes, dict]:
    location = parse_s3_uri(uri)
    response = s3_client.get_object(Bucket=location.bucket, Key=location.key)
    return response["ETag"], response["Body"].read(), response["Metadata"]


def _versions(s3_client, uri: str) -> list[dict]:
    location = parse_s3_uri(uri)
    listing = s3_client.list_object_versions(Bucket=location.bucket, Prefix=location.key)
    return listing.get("Versions", [])


def _download_to(s3_client, uri: str, path: Path) -> Path:
    path.write_bytes(_object(s3_client, uri)[1])
    return path


def _error_text(error: MyRunStreakError) -> str:
    return f"{error} {error.hint} {error!r}"


class _FaultyPutClient:
    """A real S3 client whose put_object calls are counted and may misbehave; everything else passes through."""

    def __init__(self, client):
        self._client = client
        self.puts = 0

    def __getattr__(self, name):
        return getattr(self._client, name)

    def put_object(self, **kwargs):
        self.puts += 1
        return self._put(**kwargs)

    def _put(self, **kwargs):
        return self._client.put_object(**kwargs)


class LostResponseClient(_FaultyPutClient):
    """Every put_object reaches S3, but its response is lost on the way back."""

    def _put(self, **kwargs):
        self._client.put_object(**kwargs)
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1/lost")


class DroppedPutClient(_FaultyPutClient):
    """The first put_object never reaches S3: the connection drops before it is sent."""

    def _put(self, **kwargs):
        if self.puts == 1:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1/dropped")
        return self._client.put_object(**kwargs)


class ConflictOnceClient(_FaultyPutClient):
    """The first put answers S3's 409 ConditionalRequestConflict (moto never does)."""

    def _put(self, **kwargs):
        if self.puts == 1:
            raise ClientError(
                {
                    "Error": {"Code": "ConditionalRequestConflict", "Message": "conflict"},
                    "ResponseMetadata": {"HTTPStatusCode": 409},
                },
                "PutObject",
            )
        return self._client.put_object(**kwargs)


# ------------------------------------------------------------------------------------------- URIs


def test_parse_s3_uri_and_is_s3_uri():
    assert parse_s3_uri("s3://my-bucket/a/b/runs.duckdb") == S3Location("my-bucket", "a/b/runs.duckdb")
    assert parse_s3_uri("s3://my-bucket/runs.duckdb").uri == "s3://my-bucket/runs.duckdb"
    assert is_s3_uri("S3://b/k") and not is_s3_uri("/tmp/x.duckdb") and not is_s3_uri(Path("s3:/x"))
    for bad in ("s3://", "s3://bucket", "s3://bucket/", "s3:///key", "s3://Bad_Bucket/k", "/local.duckdb"):
        with pytest.raises(MyRunStreakError):
            parse_s3_uri(bad)


# ------------------------------------------------------------------------- what moto really does


def test_moto_conditional_put_semantics(s3_client, s3_bucket):
    """Documents moto 5.2.5's answers (the CAS loop relies on them): stale If-Match -> 412."""
    first = s3_client.put_object(Bucket=s3_bucket, Key="k", Body=b"one", IfNoneMatch="*")
    with pytest.raises(ClientError) as exists:
        s3_client.put_object(Bucket=s3_bucket, Key="k", Body=b"two", IfNoneMatch="*")
    assert exists.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert exists.value.response["Error"]["Code"] == "PreconditionFailed"
    s3_client.put_object(Bucket=s3_bucket, Key="k", Body=b"two", IfMatch=first["ETag"])
    with pytest.raises(ClientError) as stale:
        s3_client.put_object(Bucket=s3_bucket, Key="k", Body=b"three", IfMatch=first["ETag"])
    assert stale.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert stale.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as missing:
        s3_client.put_object(Bucket=s3_bucket, Key="absent", Body=b"x", IfMatch=first["ETag"])
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    assert s3_client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"two"


# --------------------------------------------------------------------------------- publish / update


def test_first_publish_then_update(s3_client, s3_db_uri, tmp_path):
    first = _publisher(s3_client, s3_db_uri, tmp_path, "run-1").run(runs_loader(0, 100))
    assert isinstance(first, PublishResult)
    assert (first.published, first.attempts, first.value, first.recovered) == (True, 1, 100, False)
    assert first.row_counts["runs"] == 100 and first.row_counts["schema_version"] >= 1
    etag, body, metadata = _object(s3_client, s3_db_uri)
    assert etag == first.etag and first.version_id
    assert metadata == {"run-id": "run-1", "sha256": first.checksum, "generation": "1"}
    assert hashlib.sha256(body).hexdigest() == first.checksum

    second = _publisher(s3_client, s3_db_uri, tmp_path, "run-2").run(runs_loader(100, 50))
    assert (second.published, second.attempts, second.value) == (True, 1, 150)
    assert second.etag != first.etag
    etag, _, metadata = _object(s3_client, s3_db_uri)
    assert etag == second.etag and metadata["run-id"] == "run-2" and metadata["generation"] == "2"
    assert len(_versions(s3_client, s3_db_uri)) == 2
    assert len(activity_ids(_download_to(s3_client, s3_db_uri, tmp_path / "check.duckdb"))) == 150
    assert list((tmp_path / "work").iterdir()) == []  # working copies are discarded


def test_work_that_changes_nothing_publishes_no_new_version(s3_client, s3_db_uri, tmp_path):
    first = _publisher(s3_client, s3_db_uri, tmp_path, "run-1").run(runs_loader(0, 100))

    def read_only_work(path: Path) -> int:
        return len(activity_ids(path))

    again = _publisher(s3_client, s3_db_uri, tmp_path, "run-2").run(read_only_work)
    assert (again.value, again.published, again.etag, again.checksum) == (100, False, first.etag, first.checksum)
    assert len(_versions(s3_client, s3_db_uri)) == 1 and _object(s3_client, s3_db_uri)[2]["run-id"] == "run-1"


def test_failed_apply_publishes_nothing(s3_client, s3_db_uri, tmp_path):
    base = _publisher(s3_client, s3_db_uri, tmp_path, "run-1").run(runs_loader(0, 10))

    def half_then_fail(path: Path) -> None:
        load_synthetic_runs(path, 10, 10)
        raise RuntimeError("the SmashRun fetch failed half way")

    with pytest.raises(RuntimeError):
        _publisher(s3_client, s3_db_uri, tmp_path, "run-2").run(half_then_fail)
    assert _object(s3_client, s3_db_uri)[0] == base.etag
    assert len(_versions(s3_client, s3_db_uri)) == 1
    assert list((tmp_path / "work").iterdir()) == []


def test_publish_refuses_a_database_without_schema_version(s3_client, s3_db_uri, tmp_path):
    def no_schema(path: Path) -> None:
        duckdb.connect(str(path)).close()

    with pytest.raises(MyRunStreakError, match="schema_version"):
        _publisher(s3_client, s3_db_uri, tmp_path, "run-1").run(no_schema)
    assert _versions(s3_client, s3_db_uri) == []


def test_publish_refuses_a_working_copy_still_open(s3_client, s3_db_uri, tmp_path):
    held = []

    def leaves_connection_open(path: Path) -> None:
        load_synthetic_runs(path, 0, 5)
        held.append(duckdb.connect(str(path)))  # forgotten, still open read-write

    try:
        with pytest.raises(MyRunStreakError, match="read-only") as error:
            _publisher(s3_client, s3_db_uri, tmp_path, "run-1", max_attempts=1).run(leaves_connection_open)
        assert "close all of its DuckDB connections" in error.value.hint
    finally:
        for connection in held:
            connection.close()
    assert _versions(s3_client, s3_db_uri) == []


# ------------------------------------------------------------------------------------ conflicts


def test_conflicting_writer_between_download_and_publish_loses_no_update(s3_client, s3_db_uri, tmp_path):
    _publisher(s3_client, s3_db_uri, tmp_path, "base").run(runs_loader(0, 10))
    calls = []

    def ours_with_a_rival_publishing_meanwhile(path: Path) -> int:
        calls.append(path)
        if len(calls) == 1:  # after our download, before our publish: another writer publishes
            rival = _publisher(s3_client, s3_db_uri, tmp_path / "rival", "rival").run(runs_loader(1000, 5))
            assert rival.published
        return load_synthetic_runs(path, 500, 7)

    result = _publisher(s3_client, s3_db_uri, tmp_path, "ours").run(ours_with_a_rival_publishing_meanwhile)
    assert result.attempts == 2 and len(calls) == 2 and result.value == 10 + 5 + 7
    ids = activity_ids(_download_to(s3_client, s3_db_uri, tmp_path / "final.duckdb"))
    assert len(ids) == 22
    assert {"run-00001000", "run-00001004", "run-00000500", "run-00000506", "run-00000000"} <= set(ids)
    assert [v["IsLatest"] for v in _versions(s3_client, s3_db_uri)].count(True) == 1
    assert len(_versions(s3_client, s3_db_uri)) == 3  # base, rival, ours: the stale put never landed


def test_conflict_retries_are_bounded(s3_client, s3_db_uri, tmp_path):
    _publisher(s3_client, s3_db_uri, tmp_path, "base").run(runs_loader(0, 3))
    rival_runs = []

    def always_overtaken(path: Path) -> int:
        rival_runs.append(1)
        _publisher(s3_client, s3_db_uri, tmp_path / "rival", f"rival-{len(rival_runs)}").run(
            runs_loader(1000 + len(rival_runs), 1)
        )
        return load_synthetic_runs(path, 500, 1)

    publisher = _publisher(s3_client, s3_db_uri, tmp_path, "ours", max_attempts=3, backoff_base=0.01)
    with pytest.raises(MyRunStreakError, match="after 3 attempts") as failure:
        publisher.run(always_overtaken)
    assert failure.value.hint and "nothing from this run was published" in failure.value.hint
    assert len(rival_runs) == 3
    ids = activity_ids(_download_to(s3_client, s3_db_uri, tmp_path / "final.duckdb"))
    assert "run-00000500" not in ids and len(ids) == 3 + 3


def test_409_conditional_request_conflict_is_retried(s3_client, s3_db_uri, tmp_path):
    _publisher(s3_client, s3_db_uri, tmp_path, "base").run(runs_loader(0, 3))
    flaky = ConflictOnceClient(s3_client)
    result = _publisher(flaky, s3_db_uri, tmp_path, "ours", backoff_base=0.01).run(runs_loader(3, 3))
    assert (result.attempts, flaky.puts, result.value) == (2, 2, 6)
    assert _object(s3_client, s3_db_uri)[2]["run-id"] == "ours"


def test_publish_raises_conflict_error_on_a_stale_working_copy(s3_client, s3_db_uri, tmp_path):
    _publisher(s3_client, s3_db_uri, tmp_path, "base").run(runs_loader(0, 3))
    publisher = _publisher(s3_client, s3_db_uri, tmp_path, "ours")
    with publisher.download() as working_copy:
        load_synthetic_runs(working_copy.path, 3, 1)
        _publisher(s3_client, s3_db_uri, tmp_path, "rival").run(runs_loader(9, 1))
        with pytest.raises(ConflictError):
            publisher.publish(working_copy)
    assert _object(s3_client, s3_db_uri)[2]["run-id"] == "rival"


def test_object_deleted_during_the_run_is_not_recreated(s3_client, s3_db_uri, tmp_path):
    _publisher(s3_client, s3_db_uri, tmp_path, "base").run(runs_loader(0, 3))
    location = parse_s3_uri(s3_db_uri)

    def deleted_meanwhile(path: Path) -> None:
        s3_client.delete_object(Bucket=location.bucket, Key=location.key)
        load_synthetic_runs(path, 3, 1)

    with pytest.raises(MyRunStreakError, match="deleted"):
        _publisher(s3_client, s3_db_uri, tmp_path, "ours").run(deleted_meanwhile)
    with pytest.raises(ClientError):
        s3_client.head_object(Bucket=location.bucket, Key=location.key)


# --------------------------------------------------------------------------- ambiguous failures


def test_ambiguous_put_is_recognised_by_run_id_metadata(s3_client, s3_db_uri, tmp_path):
    publisher = _publisher(s3_client, s3_db_uri, tmp_path, "run-7")
    result = publisher.run(runs_loader(0, 5))
    # The recovery check: after a lost response, HEAD tells whether this run's bytes are what S3 holds.
    assert publisher.published_by_this_run(result.checksum)
    assert not publisher.published_by_this_run("0" * 64)
    assert not _publisher(s3_client, s3_db_uri, tmp_path, "run-8").published_by_this_run(result.checksum)


def test_put_whose_response_is_lost_counts_as_published_once(s3_client, s3_db_uri, tmp_path):
    _publisher(s3_client, s3_db_uri, tmp_path, "base").run(runs_loader(0, 5))
    lossy = LostResponseClient(s3_client)
    result = _publisher(lossy, s3_db_uri, tmp_path, "run-lost").run(runs_loader(5, 5))
    assert (result.published, result.recovered, result.attempts, lossy.puts) == (True, True, 1, 1)
    etag, _, metadata = _object(s3_client, s3_db_uri)
    assert etag == result.etag and metadata["run-id"] == "run-lost"
    assert len(_versions(s3_client, s3_db_uri)) == 2  # exactly one new version, no duplicate publish


def test_put_that_never_landed_is_retried_not_assumed(s3_client, s3_db_uri, tmp_path):
    _publisher(s3_client, s3_db_uri, tmp_path, "base").run(runs_loader(0, 5))
    dropped = DroppedPutClient(s3_client)
    result = _publisher(dropped, s3_db_uri, tmp_path, "run-retry", backoff_base=0.01).run(runs_loader(5, 5))
    assert (result.published, result.recovered, result.attempts, dropped.puts) == (True, False, 2, 2)
    assert _object(s3_client, s3_db_uri)[2]["run-id"] == "run-retry"
    assert len(_versions(s3_client, s3_db_uri)) == 2


# ------------------------------------------------------------------------------------ readers


def test_read_only_attach_over_httpfs(s3_client, s3_db_uri, tmp_path, aws_env):
    _publisher(s3_client, s3_db_uri, tmp_path, "run-1").run(runs_loader(0, 365))
    connection = open_read_only(s3_db_uri, s3_endpoint_url=aws_env)
    try:
        assert connection.execute("SELECT count(*) FROM runs").fetchone()[0] == 365
        total, year = connection.execute("SELECT round(sum(distance_km), 1), max(year) FROM db.main.runs").fetchone()
        assert total == round(sum(round(1.7 + (i % 130) / 10.0, 3) for i in range(365)), 1) and year == 1970
        with pytest.raises(duckdb.Error):
            connection.execute("DELETE FROM runs")
    finally:
        connection.close()


def test_reader_reattaches_after_a_new_version(s3_client, s3_db_uri, tmp_path, aws_env):
    _publisher(s3_client, s3_db_uri, tmp_path, "run-1").run(runs_loader(0, 10))
    with ReadOnlyS3Database(s3_db_uri, aws_env) as reader:
        assert reader.connection().execute("SELECT count(*) FROM runs").fetchone()[0] == 10
        first_etag = reader.etag
        _publisher(s3_client, s3_db_uri, tmp_path, "run-2").run(runs_loader(10, 15))
        assert reader.connection().execute("SELECT count(*) FROM runs").fetchone()[0] == 25
        assert reader.etag != first_etag and reader.etag == _object(s3_client, s3_db_uri)[0]


def test_local_open_read_only(tmp_path):
    path = tmp_path / "local.duckdb"
    load_synthetic_runs(path, 0, 4)
    connection = open_read_only(str(path))
    try:
        assert connection.execute("SELECT count(*) FROM runs").fetchone()[0] == 4
    finally:
        connection.close()
    with pytest.raises(MyRunStreakError, match="database not found"):
        open_read_only(tmp_path / "absent.duckdb")


# ------------------------------------------------------------------------------------- errors


def test_corrupt_object_is_a_clear_error_for_writers_and_readers(s3_client, s3_bucket, tmp_path, aws_env):
    uri = f"s3://{s3_bucket}/corrupt.duckdb"
    s3_client.put_object(Bucket=s3_bucket, Key="corrupt.duckdb", Body=b"this is not a duckdb file\n" * 500)
    etag = _object(s3_client, uri)[0]
    with pytest.raises(MyRunStreakError, match="not a readable DuckDB database") as writer_error:
        _publisher(s3_client, uri, tmp_path, "run-1").run(runs_loader(0, 1))
    assert writer_error.value.hint and "version" in writer_error.value.hint
    with pytest.raises(MyRunStreakError, match="not a readable DuckDB database") as reader_error:
        open_read_only(uri, aws_env)
    assert FAKE_SECRET_ACCESS_KEY not in _error_text(reader_error.value)
    assert _object(s3_client, uri)[0] == etag  # untouched
    assert list((tmp_path / "work").iterdir()) == []


def test_missing_credentials_are_a_clear_error_without_secrets(isolated_aws_env, moto_s3_endpoint, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    uri = "s3://some-bucket/runs.duckdb"
    client = make_s3_client(moto_s3_endpoint)
    with pytest.raises(MyRunStreakError, match="no AWS credentials") as writer_error:
        _publisher(client, uri, tmp_path, "run-1").run(runs_loader(0, 1))
    assert writer_error.value.hint and "AWS_ACCESS_KEY_ID" in writer_error.value.hint
    with pytest.raises(MyRunStreakError, match="no AWS credentials"):
        open_read_only(uri, moto_s3_endpoint)

    # Half-configured: a key id without its secret. The message names what is missing, never a value.
    isolated_aws_env.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
    isolated_aws_env.setenv("AWS_SESSION_TOKEN", "fake-session-token-should-never-show")
    for attempt in (
        lambda: _publisher(make_s3_client(moto_s3_endpoint), uri, tmp_path, "run-1").run(runs_loader(0, 1)),
        lambda: open_read_only(uri, moto_s3_endpoint),
    ):
        with pytest.raises(MyRunStreakError, match="credentials") as error:
            attempt()
        text = _error_text(error.value)
        assert FAKE_ACCESS_KEY_ID not in text and "fake-session-token" not in text
    assert FAKE_ACCESS_KEY_ID not in caplog.text and "fake-session-token" not in caplog.text


def test_secrets_never_appear_in_reader_errors_reprs_or_logs(s3_client, s3_db_uri, tmp_path, aws_env, caplog):
    caplog.set_level(logging.DEBUG)
    _publisher(s3_client, s3_db_uri, tmp_path, "run-1").run(runs_loader(0, 3))
    with ReadOnlyS3Database(s3_db_uri, aws_env) as reader:
        reader.connection()
        assert FAKE_SECRET_ACCESS_KEY not in repr(reader) and FAKE_SECRET_ACCESS_KEY not in repr(vars(reader))
    assert FAKE_SECRET_ACCESS_KEY not in caplog.text


def test_missing_bucket_and_missing_object_are_clear_errors(s3_client, s3_bucket, tmp_path, aws_env):
    with pytest.raises(MyRunStreakError, match="does not exist") as writer_error:
        _publisher(s3_client, "s3://no-such-bucket-here/x.duckdb", tmp_path, "run-1").run(runs_loader(0, 1))
    assert "bucket" in str(writer_error.value)
    with pytest.raises(MyRunStreakError, match="bucket 'no-such-bucket-here' does not exist"):
        open_read_only("s3://no-such-bucket-here/x.duckdb", aws_env)
    with pytest.raises(MyRunStreakError, match="database not found") as reader_error:
        open_read_only(f"s3://{s3_bucket}/never-published.duckdb", aws_env)
    assert reader_error.value.hint and "myrunstreak run" in reader_error.value.hint


# ------------------------------------------------------------------------------------- SIGKILL


def _wait_for_line(process: subprocess.Popen, wanted: str, timeout: float) -> list[str]:
    """Read the child's stdout until a line starts with ``wanted``; bounded by ``timeout`` seconds."""
    lines: list[str] = []
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                continue
            line = process.stdout.readline()
            if not line:
                break  # the child exited
            lines.append(line.strip())
            if line.startswith(wanted):
                return lines
    finally:
        selector.close()
    raise AssertionError(f"child never printed {wanted!r}; got {lines}; stderr: {process.stderr.read()[-2000:]}")


@pytest.mark.parametrize("kill_point, kill_after", [("mid-load", "CHUNK 3"), ("before-publish", "APPLIED")])
def test_sigkill_leaves_the_object_unchanged_and_a_rerun_converges(
    s3_client, s3_db_uri, tmp_path, kill_point, kill_after
):
    runs = 8000
    base = _publisher(s3_client, s3_db_uri, tmp_path, "base").run(runs_loader(0, 50))
    etag_before, bytes_before, _ = _object(s3_client, s3_db_uri)
    killed_workdir = tmp_path / "killed"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "myrunstreak_pipeline_tests.s3_kill_worker",
            s3_db_uri,
            str(killed_workdir),
            kill_point,
            str(runs),
        ],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _wait_for_line(process, kill_after, timeout=60)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
    assert "PUBLISHED" not in lines
    # The killed writer left its working copy (and maybe a WAL) behind, but S3 did not change at all.
    leftovers = list(killed_workdir.glob("*/*.duckdb"))
    assert len(leftovers) == 1
    etag_after, bytes_after, metadata = _object(s3_client, s3_db_uri)
    assert (etag_after, bytes_after, metadata["run-id"]) == (etag_before, bytes_before, "base")
    assert len(_versions(s3_client, s3_db_uri)) == 1 and base.etag == etag_before

    # A rerun starts from a fresh download and converges to what a clean run produces.
    rerun = _publisher(s3_client, s3_db_uri, tmp_path, "rerun").run(runs_loader(0, runs))
    assert rerun.published and rerun.attempts == 1 and rerun.value == runs
    clean = tmp_path / "clean.duckdb"
    clean.write_bytes(bytes_before)
    load_synthetic_runs(clean, 0, runs)
    published = _download_to(s3_client, s3_db_uri, tmp_path / "published.duckdb")
    assert table_snapshot(published) == table_snapshot(clean)
