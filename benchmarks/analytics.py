"""Benchmark: every analytics view on a 20,000-day history, beside the seed's recursive current-streak query.

    .venv/bin/python benchmarks/analytics.py [--days 20000] [--repeats 7]

Two histories end today (the machine's current_date, as the seed query assumes): one run every day, and two
runs every day. For each view, after one warm-up, over --repeats runs: the median (and min) wall time of
`SELECT * FROM view` with the full result fetched as an Arrow table (the view's cost), and the median with
the full result fetched as Python tuples (fetchall: adds Python object conversion, notably for DECIMAL and
TIMESTAMP columns). Target: <= 50 ms per view (Arrow fetch). The machine is shared: compare medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from myrunstreak_pipeline.analytics import streak_report
from myrunstreak_pipeline_tests.fixtures.analytics import create_analytics_db, daily_history, insert_runs

VIEWS = [
    "run_days",
    "streak_audit",
    "daily_summary",
    "weekly_summary",
    "monthly_summary",
    "yearly_summary",
    "streak_analysis",
    "current_streak",
    "personal_records",
    "distance_trends",
    "monthly_distance_trends",
    "year_to_date_comparison",
    "eddington",
    "milestones",
]
SEED_SQL = (Path(__file__).resolve().parent / "seed_current_streak.sql").read_text(encoding="utf-8")
TARGET_MS = 50.0


def timed_ms(action, repeats: int) -> tuple[float, float, object]:
    """(median ms, min ms, last result) of ``action`` over ``repeats`` runs after one warm-up."""
    result = action()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times), result


def bench_history(path: Path, days: int, runs_per_day: int, repeats: int) -> bool:
    con = create_analytics_db(path)
    today = con.execute("SELECT current_date").fetchone()[0]
    first = today - dt.timedelta(days=days - 1)
    started = time.perf_counter()
    loaded = insert_runs(con, daily_history(first, days, km=5.0, runs_per_day=runs_per_day))
    load_s = time.perf_counter() - started
    print(
        f"\n## {days:,} days x {runs_per_day} run(s)/day = {loaded:,} runs, {first} .. {today} "
        f"(bulk load {load_s:.2f} s)"
    )
    print(f"{'view':<26}{'arrow median':>13}{'arrow min':>10}{'fetchall median':>16}{'rows':>8}")
    all_fast = True
    for view in VIEWS:
        query = f"SELECT * FROM {view}"
        ms, min_ms, table = timed_ms(lambda q=query: con.execute(q).to_arrow_table(), repeats)
        py_ms, _, rows = timed_ms(lambda q=query: con.execute(q).fetchall(), repeats)
        assert len(rows) == table.num_rows
        all_fast &= ms <= TARGET_MS
        print(
            f"{view:<26}{ms:>13.1f}{min_ms:>10.1f}{py_ms:>16.1f}{len(rows):>8}"
            f"{'' if ms <= TARGET_MS else '  (over target)'}"
        )
    ms, min_ms, report = timed_ms(lambda: streak_report(con, today), repeats)
    all_fast &= ms <= TARGET_MS
    print(f"{'streak_report() [CLI]':<26}{ms:>13.1f}{min_ms:>10.1f}{ms:>16.1f}{1:>8}")

    seed_ms, seed_min_ms, seed_rows = timed_ms(lambda: con.execute(SEED_SQL).fetchall(), repeats)
    seed_answer = seed_rows[0][0]
    ours = report["current"]["days"]
    verdict = "right" if seed_answer == ours else "WRONG"
    print(f"{'seed recursive query':<26}{seed_ms:>13.1f}{seed_min_ms:>10.1f}{seed_ms:>16.1f}{1:>8}")
    print(
        f"current streak: ours {ours:,} days ({report['current']['status']}, {report['current']['start']} .. "
        f"{report['current']['end']}, longest {report['longest']['years_days']}); "
        f"seed {seed_answer:,} -> seed is {verdict}"
    )
    con.close()
    return all_fast


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    import duckdb

    print(f"duckdb {duckdb.__version__}, python {sys.version.split()[0]}, {args.repeats} runs per figure")
    with tempfile.TemporaryDirectory(prefix="myrunstreak-bench-") as tmp:
        fast = [bench_history(Path(tmp) / f"history{n}.duckdb", args.days, n, args.repeats) for n in (1, 2)]
    print(f"\nall views <= {TARGET_MS:.0f} ms: {'yes' if all(fast) else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
