"""The query API under load: `myrunstreak serve` on a 20,000-run database, local file and S3 (moto), and the
AWS Lambda handler's cold start and warm answers.

    .venv/bin/python benchmarks/api.py [--runs 20000] [--seconds 5] [--workers 2]

For each database (local file, then s3:// through a moto server on 127.0.0.1) it starts `myrunstreak serve
--workers N` and drives it with 1 and 16 concurrent clients (keep-alive HTTP/1.1 connections, spread over two
client processes so the client is not the bottleneck of one core) for --seconds each, on `/v1/streak`,
`/v1/runs?limit=100`, `/v1/summaries/monthly` (repeated requests: answered from the ETag-keyed answer cache after
the first), `/v1/streak` with a distinct `?today=` per request (every answer computed: the cache-miss cost) and the
304 path (`If-None-Match` on `/v1/streak`); it prints p50/p99 latency and requests/s. Then the Lambda handler
in a fresh process: import + first answer (cold start, S3), and warm answers; beside it the seed's way (download
the whole object to /tmp on cold start, then open it).

Client and server share this 2-core machine, so requests/s is a floor for what a separate client would see.
Targets: `/v1/streak` warm p99 <= 20 ms, >= 500 requests/s at 16 clients (--workers 2), cold start <= 1.5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from moto.server import ThreadedMotoServer

from myrunstreak_pipeline.duckdb_ops import DuckDBManager
from myrunstreak_pipeline.duckdb_ops.s3 import make_s3_client
from myrunstreak_pipeline.sql import load_sql

ROOT = Path(__file__).resolve().parents[1]
MYRUNSTREAK = Path(sys.executable).with_name("myrunstreak")
PATHS = {
    "/v1/streak": "/v1/streak",
    "/v1/runs?limit=100": "/v1/runs?limit=100",
    "/v1/summaries/monthly": "/v1/summaries/monthly",
}
BUCKET, KEY = "bench-bucket", "athletes/me/runstreak.duckdb"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_database(path: Path, runs: int) -> None:
    with DuckDBManager(path) as manager, manager.transaction() as connection:
        connection.execute(load_sql("testing/synthetic_runs.sql"), {"first_id": 1, "count": runs})


# ---------------------------------------------------------------------------------------------- load driver
def _client(port: int, path: str, headers: dict, connections: int, seconds: float, queue) -> None:
    """One client process: ``connections`` keep-alive connections used round-robin from threads."""
    import threading

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        seen: dict[int, int] = {}
        sent = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            # "{day}": a distinct ?today= per request, so every answer is computed (a cache miss)
            target = path.replace("{day}", _distinct_day(os.getpid(), number, sent))
            sent += 1
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter() - start) * 1000.0)
            seen[response.status] = seen.get(response.status, 0) + 1
        connection.close()
        with lock:
            latencies.extend(mine)
            for status, count in seen.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((latencies, statuses))


def _distinct_day(pid: int, thread: int, sent: int) -> str:
    offset = (pid % 7) * 5_000 + thread * 300 + sent % 300  # unique per request for up to 300 per thread
    return (dt.date(1900, 1, 1) + dt.timedelta(days=offset)).isoformat()


def drive(port: int, path: str, clients: int, seconds: float, headers: dict | None = None) -> dict:
    """``clients`` concurrent keep-alive clients for ``seconds``: p50/p99 ms, requests/s, status counts."""
    headers = {"Accept": "application/json", **(headers or {})}
    processes = 1 if clients == 1 else 2
    queue = multiprocessing.get_context("fork").Queue()
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    workers = [
        multiprocessing.get_context("fork").Process(target=_client, args=(port, path, headers, share, seconds, queue))
        for share in shares
    ]
    for worker in workers:
        worker.start()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for _ in workers:
        got, seen = queue.get()
        latencies.extend(got)
        for status, count in seen.items():
            statuses[status] = statuses.get(status, 0) + count
    for worker in workers:
        worker.join()
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rps": len(latencies) / seconds,
        "statuses": statuses,
    }


def etag_of(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}")
    return response.getheader("ETag")


def serve(db: str, workers: int, env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [str(MYRUNSTREAK), "serve", "--db", db, "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"myrunstreak serve exited: {process.stderr.read()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/v1/health")
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("myrunstreak serve did not answer /v1/health within 60 s")


def bench_server(label: str, db: str, workers: int, seconds: float, env: dict) -> None:
    process, port = serve(db, workers, env)
    try:
        for path in PATHS.values():
            drive(port, path, 4, 1.0)  # warm up every worker's connection and caches
        print(f"\n{label}: myrunstreak serve --workers {workers}")
        print(f"  {'endpoint':<28}{'clients':>8}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}  statuses")
        for name, path in PATHS.items():
            for clients in (1, 16):
                figures = drive(port, path, clients, seconds)
                print(
                    f"  {name:<28}{clients:>8}{figures['p50']:>9.2f}{figures['p99']:>9.2f}{figures['rps']:>9.0f}"
                    f"  {figures['statuses']}"
                )
        for clients in (1, 16):
            figures = drive(port, "/v1/streak?today={day}", clients, seconds)
            print(
                f"  {'/v1/streak (cache miss)':<28}{clients:>8}{figures['p50']:>9.2f}{figures['p99']:>9.2f}"
                f"{figures['rps']:>9.0f}  {figures['statuses']}"
            )
        tag = etag_of(port, "/v1/streak")
        for clients in (1, 16):
            figures = drive(port, "/v1/streak", clients, seconds, {"If-None-Match": tag})
            print(
                f"  {'/v1/streak (304 path)':<28}{clients:>8}{figures['p50']:>9.2f}{figures['p99']:>9.2f}"
                f"{figures['rps']:>9.0f}  {figures['statuses']}"
            )
    finally:
        process.terminate()
        process.wait(timeout=30)


# ---------------------------------------------------------------------------------------------- Lambda
LAMBDA_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    started = time.perf_counter()
    from myrunstreak_pipeline.api.lambda_handler import handler
    imported = time.perf_counter()
    event = json.loads(sys.argv[1])
    first = handler(event, None)
    answered = time.perf_counter()
    warm = []
    for _ in range(200):
        t = time.perf_counter()
        answer = handler(event, None)
        warm.append((time.perf_counter() - t) * 1000.0)
    warm.sort()
    print(json.dumps({"import_ms": (imported - started) * 1000, "first_ms": (answered - imported) * 1000,
                      "status": first["statusCode"], "warm_p50": warm[100], "warm_p99": warm[197]}))
    """
)

SEED_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, tempfile, time
    started = time.perf_counter()
    import boto3, duckdb
    imported = time.perf_counter()
    client = boto3.client("s3", endpoint_url=sys.argv[1])
    target = os.path.join(tempfile.mkdtemp(dir="/tmp"), "db.duckdb")
    client.download_file(sys.argv[2], sys.argv[3], target)
    con = duckdb.connect(target, read_only=True)
    first = con.execute("SELECT * FROM current_streak").fetchall()
    answered = time.perf_counter()
    warm = []
    for _ in range(200):
        t = time.perf_counter()
        con.execute("SELECT * FROM current_streak").fetchall()
        warm.append((time.perf_counter() - t) * 1000.0)
    warm.sort()
    print(json.dumps({"import_ms": (imported - started) * 1000, "first_ms": (answered - imported) * 1000,
                      "warm_p50": warm[100], "warm_p99": warm[197]}))
    """
)


def http_api_v2_event(path: str) -> dict:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"accept": "application/json", "host": "abc123.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "b"},
            "requestId": "bench",
            "routeKey": "$default",
            "stage": "$default",
            "time": "30/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1796040000000,
        },
        "isBase64Encoded": False,
    }


def bench_lambda(endpoint: str, env: dict) -> None:
    print("\nLambda handler (fresh process per cold start, S3 through moto; median of 3)")
    event = json.dumps(http_api_v2_event("/v1/streak"))
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", LAMBDA_SCRIPT, event], env=env, capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            print(f"  the handler failed: {out.stderr.strip().splitlines()[-1:]}")
            return
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    seed = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", SEED_SCRIPT, endpoint, BUCKET, KEY], env=env, capture_output=True, text=True
        )
        seed.append(json.loads(out.stdout.strip().splitlines()[-1]))

    def median(items, key):
        return statistics.median(item[key] for item in items)

    print(f"  {'':<40}{'import ms':>10}{'first answer ms':>17}{'cold total ms':>15}{'warm p50':>10}{'warm p99':>10}")
    for label, items in (("attach pinned version (this project)", runs), ("seed: download to /tmp, then open", seed)):
        imp, first = median(items, "import_ms"), median(items, "first_ms")
        print(
            f"  {label:<40}{imp:>10.0f}{first:>17.0f}{imp + first:>15.0f}"
            f"{median(items, 'warm_p50'):>10.2f}{median(items, 'warm_p99'):>10.2f}"
        )
    print(f"  (handler status of the first answer: {runs[0]['status']}; the seed's warm figure is a bare query)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="myrunstreak-api-bench-") as scratch:
        scratch = Path(scratch)
        path = scratch / "runs.duckdb"
        build_database(path, args.runs)
        print(f"database: {args.runs:,} runs, {path.stat().st_size / 1e6:.1f} MB; load {os.getloadavg()[0]:.2f}")
        env = {**os.environ, "HOME": str(scratch), "MYRUNSTREAK_API_REFRESH_SECONDS": "5"}
        for name in ("MYRUNSTREAK_DB", "MYRUNSTREAK_S3_ENDPOINT_URL"):
            env.pop(name, None)
        bench_server("local file", str(path), args.workers, args.seconds, env)

        moto_port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        try:
            endpoint = f"http://127.0.0.1:{moto_port}"
            s3_env = {**env, **AWS_ENV, "MYRUNSTREAK_S3_ENDPOINT_URL": endpoint}
            os.environ.update({**AWS_ENV, "MYRUNSTREAK_S3_ENDPOINT_URL": endpoint})
            client = make_s3_client(endpoint)
            client.create_bucket(Bucket=BUCKET)
            client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
            uri = f"s3://{BUCKET}/{KEY}"
            client.upload_file(str(path), BUCKET, KEY)
            bench_server("S3 (moto, versioned bucket)", uri, args.workers, args.seconds, s3_env)
            bench_lambda(endpoint, {**s3_env, "MYRUNSTREAK_DB": uri})
        finally:
            moto.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
