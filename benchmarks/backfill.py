"""Benchmark: a 55-year synthetic athlete (20,000+ runs) backfilled end to end through Dagster.

    .venv/bin/python benchmarks/backfill.py [--years 55] [--profile]

1. ``myrunstreak sandbox --port 0 --rate-limit 0`` in a subprocess (the API, like production, is another process);
2. ``myrunstreak run --full`` in a subprocess on a persistent DAGSTER_HOME (temp dir) → wall time, peak RSS;
3. ``myrunstreak run`` again with nothing new (incremental) → wall time, peak RSS.
Targets (2 cores): backfill <= 12 s and <= 600 MB; no-change run <= 8 s. Exits 1 when a target is missed.
``--profile`` also writes cProfile stats of each run (``<tmp>/full.prof``, ``<tmp>/nochange.prof``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "benchmark-token"
TARGETS = {"full": (12.0, 600.0), "nochange": (8.0, 600.0)}


def start_sandbox(years: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    log = log_path.open("w")
    proc = subprocess.Popen(
        [
            str(BIN / "myrunstreak"),
            "sandbox",
            "--port",
            "0",
            "--years",
            str(years),
            "--seed",
            "55",
            "--token",
            TOKEN,
            "--rate-limit",
            "0",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # bounded wait for the "serving ... at http://127.0.0.1:PORT" line
        match = re.search(r"at (http://127\.0\.0\.1:\d+)", log_path.read_text())
        if match:
            base = match.group(1)
            break
        if proc.poll() is not None:
            raise SystemExit(f"sandbox exited early:\n{log_path.read_text()}")
        time.sleep(0.2)
    else:
        proc.kill()
        raise SystemExit("sandbox did not start within 120 s")
    return proc, base


def timed_run(args: list[str], env: dict, profile: Path | None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, output) of one `myrunstreak` subprocess, measured by /usr/bin/time -v."""
    command = (
        [str(BIN / "python"), "-m", "cProfile", "-o", str(profile), "-m", "myrunstreak_pipeline.cli"]
        if profile
        else [str(BIN / "myrunstreak")]
    )
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    wall = time.perf_counter() - started
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    output = done.stdout + "\n".join(
        line for line in done.stderr.splitlines() if "alembic" not in line and not line.startswith("\t")
    )
    if done.returncode != 0:
        raise SystemExit(f"`myrunstreak {' '.join(args)}` failed ({done.returncode}):\n{output}")
    return wall, rss_kb / 1024, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--years", type=int, default=55)
    parser.add_argument("--profile", action="store_true", help="write cProfile stats next to the temp files")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    options = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="myrunstreak-bench-"))
    sandbox, base = start_sandbox(options.years, tmp / "sandbox.log")
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMASHRUN_", "MYRUNSTREAK_"))}
        env.update(
            {
                "SMASHRUN_API_BASE": f"{base}/v1",
                "SMASHRUN_AUTH_BASE": base,
                "SMASHRUN_ACCESS_TOKEN": TOKEN,
                "MYRUNSTREAK_DB": str(tmp / "bench.duckdb"),
                "MYRUNSTREAK_HISTORY_START": f"{time.gmtime().tm_year - options.years}-01-01",
                "DAGSTER_HOME": str(tmp / "dagster_home"),
            }
        )
        print(f"load before: {os.getloadavg()[0]:.2f} (1-min average, {os.cpu_count()} cores)")
        results = {}
        for name, args in (("full", ["run", "--full"]), ("nochange", ["run"])):
            profile = tmp / f"{name}.prof" if options.profile else None
            wall, rss, output = timed_run(args, env, profile)
            results[name] = (wall, rss)
            print(
                f"--- myrunstreak {' '.join(args)}: {wall:.2f} s wall, peak RSS {rss:.0f} MB "
                f"(load {os.getloadavg()[0]:.2f})"
            )
            print("\n".join("    " + line for line in output.strip().splitlines()[-4:]))
            if profile:
                print(f"    profile: {profile}")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
        if not options.keep and not options.profile:
            shutil.rmtree(tmp, ignore_errors=True)
    missed = [
        f"{name}: {results[name][0]:.2f} s / {results[name][1]:.0f} MB vs {wall} s / {rss} MB"
        for name, (wall, rss) in TARGETS.items()
        if results[name][0] > wall or results[name][1] > rss
    ]
    print("targets met" if not missed else "targets MISSED: " + "; ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
