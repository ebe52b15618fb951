"""DuckDB-on-S3 round trip vs a local file, for a 20,000-run database.

    .venv/bin/python benchmarks/s3_roundtrip.py [--runs 20000] [--repeats 5]

Builds the database through DuckDBManager (real schema) with deterministic synthetic runs, starts a moto S3
server on 127.0.0.1 (fake credentials; nothing leaves the machine), then times, median of --repeats:

- download: S3DatabasePublisher.download() (GET + ETag + integrity check) vs copying the local file;
- publish: S3DatabasePublisher.publish() after a one-run update (CHECKPOINT, sanity check, SHA-256, conditional
  PUT) vs the same checks plus an atomic local copy (copy + fsync + rename);
- attach: open_read_only("s3://…") (load httpfs, secret, ATTACH) vs open_read_only(local path);
- query: count(*) and a per-year aggregate through that connection.

moto runs in this process (a thread), so S3 numbers include its Python overhead; real S3 adds network latency.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from moto.server import ThreadedMotoServer

from myrunstreak_pipeline.duckdb_ops import DuckDBManager
from myrunstreak_pipeline.duckdb_ops.s3 import S3DatabasePublisher, make_s3_client, open_read_only, parse_s3_uri
from myrunstreak_pipeline.sql import load_sql

COUNT_QUERY = "SELECT count(*) FROM runs"
AGGREGATE_QUERY = "SELECT year, count(*), round(sum(distance_km), 1) FROM runs GROUP BY year ORDER BY year"


def load_runs(path: Path, first_id: int, count: int) -> None:
    with DuckDBManager(path) as manager, manager.transaction() as connection:
        connection.execute(load_sql("testing/synthetic_runs.sql"), {"first_id": first_id, "count": count})


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return (time.perf_counter() - start) * 1000.0, result


def local_publish(publisher: S3DatabasePublisher, source: Path, destination: Path) -> None:
    """The local counterpart of a publish: the same checks, then an atomic replace of the destination file."""
    publisher.checkpoint_and_verify(source)  # CHECKPOINT + no-WAL + read-only sanity check, exactly as before a PUT
    staging = destination.with_suffix(".tmp")
    shutil.copyfile(source, staging)
    with staging.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(staging, destination)


def query(connection) -> tuple[int, int]:
    count = connection.execute(COUNT_QUERY).fetchone()[0]
    years = len(connection.execute(AGGREGATE_QUERY).fetchall())
    return count, years


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    # Fake credentials only: this talks to the local moto server, never to AWS.
    os.environ.update(AWS_ACCESS_KEY_ID="benchmark", AWS_SECRET_ACCESS_KEY="benchmark", AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    workdir = Path(tempfile.mkdtemp(prefix="myrunstreak-bench-"))
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = make_s3_client(endpoint)
        client.create_bucket(Bucket="myrunstreak-bench")
        uri = "s3://myrunstreak-bench/runstreak.duckdb"
        location = parse_s3_uri(uri)

        built = workdir / "built.duckdb"
        build_ms, _ = timed(lambda: load_runs(built, 0, args.runs))
        size_mb = built.stat().st_size / 1e6
        first = S3DatabasePublisher(client, location, run_id="bench-0", workdir=workdir / "s3")
        first.run(lambda path: shutil.copyfile(built, path))  # the initial publish (IfNoneMatch="*")
        local_store = workdir / "published.duckdb"
        shutil.copyfile(built, local_store)

        samples: dict[str, dict[str, list[float]]] = {
            step: {"s3": [], "local": []} for step in ("download", "publish", "attach", "count+aggregate")
        }
        for repeat in range(1, args.repeats + 1):
            publisher = S3DatabasePublisher(client, location, run_id=f"bench-{repeat}", workdir=workdir / "s3")
            ms, working_copy = timed(publisher.download)
            samples["download"]["s3"].append(ms)
            with working_copy:
                load_runs(working_copy.path, args.runs + repeat, 1)  # a one-run update, untimed
                ms, result = timed(lambda p=publisher, w=working_copy: p.publish(w))
                assert result.published
            samples["publish"]["s3"].append(ms)

            local_copy = workdir / "local-working.duckdb"
            ms, _ = timed(lambda c=local_copy: shutil.copyfile(local_store, c))
            samples["download"]["local"].append(ms)
            load_runs(local_copy, args.runs + repeat, 1)
            ms, _ = timed(lambda p=publisher, c=local_copy: local_publish(p, c, local_store))
            samples["publish"]["local"].append(ms)

            for kind, database in (("s3", uri), ("local", str(local_store))):
                ms, connection = timed(lambda d=database: open_read_only(d, endpoint))
                samples["attach"][kind].append(ms)
                try:
                    ms, (count, years) = timed(lambda c=connection: query(c))
                    assert count == args.runs + repeat, (kind, count)
                finally:
                    connection.close()
                samples["count+aggregate"][kind].append(ms)

        print(
            f"database: {args.runs:,} runs built in {build_ms:.0f} ms, {size_mb:.1f} MB file, "
            f"{years} years; median (min) of {args.repeats} repeats, milliseconds"
        )
        print(f"{'step':<18}{'S3 (moto, loopback)':>24}{'local file':>20}")
        for step, by_kind in samples.items():
            cells = [f"{statistics.median(v):8.1f} ({min(v):7.1f})" for v in (by_kind["s3"], by_kind["local"])]
            print(f"{step:<18}{cells[0]:>24}{cells[1]:>20}")
        return 0
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
