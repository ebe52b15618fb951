"""Consistent S3 reads against a real moto server: a reader sees one whole published version or retries, never a
traceback; every failure a reader can meet is one line naming the database."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline.duckdb_ops.s3 import (
    ReadOnlyS3Database,
    S3DatabasePublisher,
    make_s3_client,
    open_reader,
    parse_s3_uri,
)
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql
from myrunstreak_pipeline_tests.fixtures.s3 import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY

REPO_ROOT = Path(__file__).resolve().parent.parent
MYRUNSTREAK = Path(sys.executable).with_name("myrunstreak")
RUN_COUNT = "test.run_count"
FIRST, STEP = 40, 3  # the writer publishes 40, 43, 46, ... runs: one run per day from 1970-01-01
READS, CLI_CALLS = 200, 10  # per bucket kind, concurrently with a writer publishing in a tight loop
# one version, read with two queries: runs and the sync_state row written by the same publish must agree
COUNTS = "SELECT count(*), sum(distance_km), string_agg(notes, ',') FROM runs"
SYNC_VALUE = f"SELECT value FROM sync_state WHERE key = '{RUN_COUNT}'"


def _expected_km(count: int) -> float:
    return sum(round(1.7 + (i % 130) / 10.0, 3) for i in range(count))


def _apply(count: int):
    def apply(path: Path) -> int:
        with DuckDBManager(path) as manager:
            with manager.transaction() as connection:
                connection.execute(load_sql("testing/synthetic_runs.sql"), {"first_id": 0, "count": count})
            RunRepository(manager.connection).set_sync_state({RUN_COUNT: str(count)})
        return count

    return apply


def _publish(s3_client, uri: str, workdir: Path, count: int) -> None:
    S3DatabasePublisher(s3_client, parse_s3_uri(uri), run_id=f"writer-{count}", workdir=workdir).run(_apply(count))


def _new_bucket(s3_client, versioned: bool) -> str:
    name = f"myrunstreak-reads-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    if versioned:
        s3_client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _no_secret(*items: object) -> None:
    text = " ".join(f"{item} {getattr(item, 'hint', '')} {item!r}" for item in items)
    for secret in (FAKE_SECRET_ACCESS_KEY, FAKE_ACCESS_KEY_ID, "X-Amz-Signature", "X-Amz-Credential"):
        assert secret not in text


class Writer(threading.Thread):
    """Publishes new versions in a tight loop (each one more runs and the matching sync_state row)."""

    def __init__(self, s3_client, uri: str, workdir: Path):
        super().__init__(daemon=True)
        self.s3, self.uri, self.workdir = s3_client, uri, workdir
        self.stop = threading.Event()
        self.published = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        count = FIRST
        try:
            while not self.stop.is_set():
                count += STEP
                _publish(self.s3, self.uri, self.workdir, count)
                self.published += 1
        except BaseException as error:  # reported by the test
            self.error = error


@pytest.fixture
def writer(s3_client, tmp_path) -> Iterator[callable]:
    started: list[Writer] = []

    def start(uri: str) -> Writer:
        _publish(s3_client, uri, tmp_path / "work", FIRST)
        started.append(Writer(s3_client, uri, tmp_path / "work"))
        started[-1].start()
        return started[-1]

    yield start
    for thread in started:
        thread.stop.set()
        thread.join(timeout=30)


def _check_answer(count: int, km: float, notes: str, sync_value: str) -> int:
    assert count >= FIRST and (count - FIRST) % STEP == 0, count
    assert sync_value == str(count)
    assert km == pytest.approx(_expected_km(count))
    assert notes.count("synthetic run ") == count
    return count


def _streak(uri: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MYRUNSTREAK), "-v", "streak", "--db", uri, "--json", "--today", "1990-01-01"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _cli_env() -> dict[str, str]:
    env = dict(os.environ)  # aws_env's fake credentials and MYRUNSTREAK_S3_ENDPOINT_URL (moto)
    env.pop("MYRUNSTREAK_DB", None)
    return env


# ---------------------------------------------------------------------------------- concurrent reads


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "unversioned"])
def test_reads_see_one_whole_version_while_a_writer_publishes(s3_client, aws_env, writer, versioned, caplog):
    caplog.set_level(logging.DEBUG, logger="myrunstreak_pipeline.duckdb_ops.s3.reader")
    uri = f"s3://{_new_bucket(s3_client, versioned)}/athletes/me/runstreak.duckdb"
    publishing = writer(uri)
    env = _cli_env()

    def both(connection) -> tuple:
        count, km, notes = connection.execute(COUNTS).fetchone()
        return count, km, notes, connection.execute(SYNC_VALUE).fetchone()[0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        cli_calls = [pool.submit(_streak, uri, env) for _ in range(CLI_CALLS)]
        with ReadOnlyS3Database(uri, aws_env) as reader:
            seen = [_check_answer(*reader.read(both)) for _ in range(READS)]
            assert reader.pinned is versioned
            api_retries = reader.retries
        results = [call.result() for call in cli_calls]
    publishing.stop.set()
    publishing.join(timeout=30)
    assert publishing.error is None
    assert seen == sorted(seen)  # never an older version after a newer one
    assert publishing.published >= 10 and len(set(seen)) >= 5, (publishing.published, set(seen))
    cli_retries = []
    for result in results:
        assert "Traceback" not in result.stderr and "error:" not in result.stderr, result.stderr
        assert result.returncode == 0, result.stderr
        longest = json.loads(result.stdout)["longest"]
        assert longest["start"] == "1970-01-01"
        days = longest["days"]
        assert days >= FIRST and (days - FIRST) % STEP == 0
        assert dt.date.fromisoformat(longest["end"]) == dt.date(1970, 1, 1) + dt.timedelta(days=days - 1)
        cli_retries.append(result.stderr.count("reading again"))
    if versioned:
        assert api_retries == 0 and sum(cli_retries) == 0  # pinned: nothing to retry
    print(
        f"\n{'versioned' if versioned else 'unversioned'}: {len(seen)} reads + {len(results)} CLI calls while "
        f"{publishing.published} versions were published; retries: reader {api_retries}, "
        f"CLI {sum(cli_retries)} (per call {cli_retries})"
    )


def test_a_writer_landing_during_every_read(s3_client, aws_env, tmp_path):
    uri = f"s3://{_new_bucket(s3_client, versioned=False)}/runstreak.duckdb"
    published = [FIRST]
    _publish(s3_client, uri, tmp_path, FIRST)

    def read_while_publishing(connection) -> int:
        count = connection.execute(COUNTS).fetchone()[0]
        published.append(published[-1] + STEP)
        _publish(s3_client, uri, tmp_path, published[-1])  # a writer lands during every read
        return count

    # Without the last resort: bounded retries, then one clear line.
    with ReadOnlyS3Database(uri, aws_env, max_attempts=3, backoff=0.001, download_last_attempt=False) as reader:
        with pytest.raises(MyRunStreakError, match="kept changing while it was read") as error:
            reader.read(read_while_publishing)
        assert reader.retries == 3 and str(uri) in str(error.value) and "versioned bucket" in error.value.hint
    # By default the last attempt reads a downloaded copy: one whole version, however fast the writer.
    with ReadOnlyS3Database(uri, aws_env, max_attempts=3, backoff=0.001) as reader:
        assert reader.read(read_while_publishing) == published[-2] and reader.retries == 2 and reader.pinned
        copy = reader._copy
        assert copy is not None and copy.is_dir()
        assert reader.query(SYNC_VALUE) == [(str(published[-1]),)]  # a new version: back to range reads
        assert not copy.exists()

    # On a versioned bucket the reader pinned its version, so the publishes do not disturb it at all.
    uri = f"s3://{_new_bucket(s3_client, versioned=True)}/runstreak.duckdb"
    published.append(FIRST)
    _publish(s3_client, uri, tmp_path, FIRST)
    with ReadOnlyS3Database(uri, aws_env, max_attempts=1) as reader:
        assert reader.read(read_while_publishing) == FIRST and reader.retries == 0 and reader.pinned


# ------------------------------------------------------------------------------------- one-line errors


class _StubS3(http.server.BaseHTTPRequestHandler):
    """Without ``upstream``: refuses everything with 403 AccessDenied, as S3 does for bad credentials. With it:
    a proxy to moto that, like S3 and unlike moto, refuses a HEAD on a URL presigned for GET."""

    upstream = ""
    refused: list[str]

    def _handle(self) -> None:
        if not self.upstream or (self.command == "HEAD" and "X-Amz-Signature=" in self.path):
            self.refused.append(f"{self.command} {self.path}")
            self._reply(403, {"Content-Type": "application/xml"}, b"<Error><Code>AccessDenied</Code></Error>")
            return
        headers = {name: value for name, value in self.headers.items() if name.lower() != "host"}
        request = urllib.request.Request(self.upstream + self.path, method=self.command, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        dropped = ("content-length", "transfer-encoding", "connection", "server", "date")
        self._reply(
            response.status, {k: v for k, v in response.headers.items() if k.lower() not in dropped}, response.read()
        )

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = _handle

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def stub_s3() -> Iterator[callable]:
    """``stub_s3(upstream="")`` -> (endpoint URL, the requests it refused)."""
    servers = []

    def start(upstream: str = "") -> tuple[str, list[str]]:
        refused: list[str] = []
        handler = type("Stub", (_StubS3,), {"upstream": upstream, "refused": refused})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", refused

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_pinned_reads_survive_s3_refusing_head_on_a_get_signed_url(s3_client, moto_s3_endpoint, tmp_path, stub_s3):
    """httpfs probes a file with HEAD; S3 refuses that on a GET-signed URL, and httpfs falls back to a ranged GET."""
    endpoint, refused_heads = stub_s3(moto_s3_endpoint)
    uri = f"s3://{_new_bucket(s3_client, versioned=True)}/runstreak.duckdb"
    _publish(s3_client, uri, tmp_path, FIRST)
    with ReadOnlyS3Database(uri, endpoint, s3_client=s3_client) as reader:
        assert reader.query(SYNC_VALUE) == [(str(FIRST),)]
        assert reader.pinned and reader.pin_versions
    assert refused_heads and all(r.startswith("HEAD ") and "versionId=" in r for r in refused_heads)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_count(uri: str, endpoint: str, **kwargs) -> int:
    with ReadOnlyS3Database(uri, endpoint, **kwargs) as reader:
        return reader.query("SELECT count(*) FROM runs")[0][0]


def test_missing_bucket_and_missing_object(s3_client, aws_env):
    with pytest.raises(MyRunStreakError, match="bucket 'no-such-bucket-here' does not exist") as error:
        _read_count("s3://no-such-bucket-here/runstreak.duckdb", aws_env)
    assert "bucket" in error.value.hint
    uri = f"s3://{_new_bucket(s3_client, versioned=True)}/never-published.duckdb"
    with pytest.raises(MyRunStreakError, match=f"database not found: {uri}") as error:
        _read_count(uri, aws_env)
    assert "myrunstreak run" in error.value.hint


def test_access_denied_and_bad_credentials(aws_env, stub_s3):
    with pytest.raises(MyRunStreakError, match=r"S3 refused access \(403\) while reading s3://b-x/k.duckdb") as error:
        _read_count("s3://b-x/k.duckdb", stub_s3()[0])
    assert "s3:GetObject" in error.value.hint
    _no_secret(error.value)


def test_unreachable_and_silent_endpoints(aws_env):
    closed = f"http://127.0.0.1:{_closed_port()}"
    client = make_s3_client(closed, max_attempts=1)
    with pytest.raises(MyRunStreakError, match="cannot reach S3 while reading s3://b-x/k.duckdb") as error:
        _read_count("s3://b-x/k.duckdb", closed, s3_client=client)
    assert "MYRUNSTREAK_S3_ENDPOINT_URL" in error.value.hint
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = make_s3_client(endpoint, max_attempts=1, connect_timeout=0.5, read_timeout=0.5)
        with pytest.raises(MyRunStreakError, match="S3 did not answer in time while reading") as error:
            _read_count("s3://b-x/k.duckdb", endpoint, s3_client=client)
    _no_secret(error.value)


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "unversioned"])
def test_httpfs_unable_to_read_what_s3_lists(s3_client, aws_env, tmp_path, versioned, caplog):
    """boto3 HEADs the object through moto, but DuckDB's endpoint refuses connections (a proxy or endpoint
    mismatch): one line, not "database does not exist"."""
    uri = f"s3://{_new_bucket(s3_client, versioned)}/runstreak.duckdb"
    _publish(s3_client, uri, tmp_path, FIRST)
    closed = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(MyRunStreakError, match="httpfs cannot read .* although S3 reports it exists") as error:
        _read_count(uri, closed, s3_client=s3_client)
    _no_secret(error.value, caplog.text)


def test_a_refused_version_read_falls_back_to_change_detection(s3_client, aws_env, tmp_path, stub_s3, caplog):
    """Credentials without s3:GetObjectVersion cannot read a pinned version: the reader says so once, then
    reads the current object with change detection instead."""
    uri = f"s3://{_new_bucket(s3_client, versioned=True)}/runstreak.duckdb"
    _publish(s3_client, uri, tmp_path, FIRST)
    with ReadOnlyS3Database(uri, aws_env) as reader:
        refusing = stub_s3()[0]
        reader._presigned_url = lambda version: f"{refusing}/b/k.duckdb?versionId=x&X-Amz-Signature=s"
        assert reader.query("SELECT count(*) FROM runs") == [(FIRST,)]
        assert not reader.pinned and not reader.pin_versions
    assert "s3:GetObjectVersion" in caplog.text
    _no_secret(caplog.text)


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "unversioned"])
def test_corrupt_object(s3_client, aws_env, versioned, caplog):
    bucket = _new_bucket(s3_client, versioned)
    s3_client.put_object(Bucket=bucket, Key="corrupt.duckdb", Body=b"not a duckdb file\n" * 4096)
    with pytest.raises(MyRunStreakError, match="is not a readable DuckDB database") as error:
        _read_count(f"s3://{bucket}/corrupt.duckdb", aws_env)
    assert "version" in error.value.hint
    assert "s3:GetObjectVersion" not in caplog.text  # a corrupt object is not a permissions problem


def test_cli_failures_are_one_line_without_traceback(s3_client, aws_env):
    bucket = _new_bucket(s3_client, versioned=True)
    s3_client.put_object(Bucket=bucket, Key="corrupt.duckdb", Body=b"not a duckdb file\n" * 4096)
    env = _cli_env()
    cases = {
        "s3://no-such-bucket-here/runstreak.duckdb": "S3 bucket 'no-such-bucket-here' does not exist",
        f"s3://{bucket}/missing.duckdb": "database not found",
        f"s3://{bucket}/corrupt.duckdb": "is not a readable DuckDB database",
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(cases, pool.map(lambda uri: _streak(uri, env), cases), strict=True))
    for uri, result in results.items():
        assert result.returncode == 2 and result.stdout == "", result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith(("error:", "hint:"))]
        assert lines[0].startswith("error: ") and cases[uri] in lines[0], result.stderr
        assert len(lines) == 2 and lines[1].startswith("hint: "), result.stderr
        assert "Traceback" not in result.stderr
        _no_secret(result.stderr)


def test_local_and_s3_readers_share_the_api(s3_client, aws_env, tmp_path):
    local = tmp_path / "local.duckdb"
    _apply(FIRST)(local)
    uri = f"s3://{_new_bucket(s3_client, versioned=True)}/runstreak.duckdb"
    _publish(s3_client, uri, tmp_path, FIRST)
    for database in (str(local), uri):
        with open_reader(database, aws_env) as reader:
            assert reader.query(SYNC_VALUE) == [(str(FIRST),)]
            assert reader.read(lambda connection: connection.execute(COUNTS).fetchone()[0]) == FIRST
    with pytest.raises(MyRunStreakError, match="database not found"):
        open_reader(tmp_path / "absent.duckdb")
