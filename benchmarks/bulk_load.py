"""Bulk load vs row-by-row: RunRepository.upsert_activities vs one upsert_run call per activity.

    .venv/bin/python benchmarks/bulk_load.py [--count 20000] [--row-seconds 15]

Both paths write real-shaped summary payloads (myrunstreak_pipeline_tests.fixtures.payloads.synthetic_history)
into a fresh DuckDB *file*. The row-by-row loop is time-boxed and extrapolated to --count. A second bulk load of
the same batch must leave every row count unchanged (idempotence).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# The payload builders live with the tests (not an installed package): import them from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline_tests.fixtures.payloads import synthetic_history


def bulk(payloads: list[dict], path: Path) -> tuple[float, dict[str, int], float, dict[str, int]]:
    with DuckDBManager(path) as manager:
        repo = RunRepository(manager.connection)
        started = time.perf_counter()
        result = repo.upsert_activities(payloads)
        first = time.perf_counter() - started
        assert result.loaded == len(payloads) and result.quarantined == 0, result
        counts_first = repo.table_counts()
        started = time.perf_counter()
        repo.upsert_activities(payloads)
        second = time.perf_counter() - started
        counts_second = repo.table_counts()
    return first, counts_first, second, counts_second


def row_by_row(payloads: list[dict], path: Path, seconds: float) -> tuple[int, float]:
    with DuckDBManager(path) as manager:
        repo = RunRepository(manager.connection)
        done = 0
        started = time.perf_counter()
        deadline = started + seconds
        for payload in payloads:  # bounded by the batch and by the deadline
            repo.upsert_run(payload)
            done += 1
            if time.perf_counter() >= deadline:
                break
        elapsed = time.perf_counter() - started
        assert repo.get_total_runs() == done
    return done, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--row-seconds", type=float, default=15.0, help="time box of the row-by-row loop")
    args = parser.parse_args(argv)

    payloads = synthetic_history(args.count)
    with tempfile.TemporaryDirectory(prefix="bulk_load_") as tmp:
        first, counts_first, second, counts_second = bulk(payloads, Path(tmp) / "bulk.duckdb")
        done, elapsed = row_by_row(payloads, Path(tmp) / "rows.duckdb", args.row_seconds)

    bulk_rate = args.count / first
    row_rate = done / elapsed
    print(f"activities: {args.count:,} real-shaped summaries, fresh DuckDB file each")
    print(f"bulk upsert_activities: {first:.3f} s  -> {bulk_rate:,.0f} rows/s")
    print(f"bulk re-load (same batch): {second:.3f} s")
    print(f"row counts after load:   {counts_first}")
    print(f"row counts after reload: {counts_second}")
    print(
        f"row-by-row upsert_run: {done:,} rows in {elapsed:.2f} s -> {row_rate:,.1f} rows/s "
        f"(extrapolated {args.count:,} rows: {args.count / row_rate:,.0f} s)"
    )
    ratio = bulk_rate / row_rate
    print(f"bulk / row-by-row: {ratio:,.0f}x (target >= 200x)")
    idempotent = counts_first == counts_second
    print(f"re-load leaves counts unchanged: {idempotent}")
    return 0 if idempotent else 1


if __name__ == "__main__":
    sys.exit(main())
