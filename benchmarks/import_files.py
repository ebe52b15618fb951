"""Activity-file import: FIT parsers side by side, then files/s with a process pool and peak memory.

    .venv/bin/python benchmarks/import_files.py [--files 2000] [--workers 2] [--gpx-years 10]
        [--skip-compare] [--skip-mixed] [--skip-dagster]

1. **Parser comparison** on the real FIT fixtures (myrunstreak_pipeline_tests/fixtures/activity_files/fit):
   fitdecode (what the package uses, through ``read_activity_file``), garmin-fit-sdk and fitfast, each on its own
   (decode the whole file, read the sessions). Per file: the first session's start, elapsed and timer time,
   distance and sport, the record count, errors, and the time. Correctness first: a parser must read every good
   file to the same figures and reject the corrupt ones. garmin-fit-sdk and fitfast are NOT dependencies of the
   package; install them only to run this comparison (``.venv/bin/pip install garmin-fit-sdk fitfast``); a parser
   that is not installed is skipped.
2. **Import throughput**: ``--files`` distinct files (the readable real fixtures, each copy shifted by whole days,
   benchmarks/shifted_copies.py) through the code path of ``myrunstreak import``: discovery, parsing in a pool of
   ``--workers`` processes, storing in batches into a fresh DuckDB file. Once all formats mixed, once "typical"
   FIT (single-session runs and walks up to ~2.5 h: every good FIT fixture except the 1 MB triathlon and the
   3.5 h ride).
3. **Memory**: the parent's resident set after 10 % of the files and at the end (flat in the number of files: it
   holds one batch at a time, plus DuckDB's buffer cache, which levels off).
4. **Dagster**: ``--gpx-years`` years of one GPX a day (the real GPX runs, shifted) in a drop folder, imported by
   ``import_files_job`` (activity_files → analytics → calendar): cold, then again with nothing new.
   Target: under a minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.shifted_copies import shifted_copies, shifted_copy  # noqa: E402
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository  # noqa: E402
from myrunstreak_pipeline.files import ActivityFileError, read_activity_file  # noqa: E402
from myrunstreak_pipeline.imports import discover, import_files  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "myrunstreak_pipeline_tests" / "fixtures" / "activity_files"
NOT_TYPICAL = {"multisport_fenix2_triathlon_3h15.fit", "ride_coros_pace2_3h32.fit"}


# --- 1. parser comparison -----------------------------------------------------------------------------------------
def _ours(data: bytes, name: str) -> dict:
    activity = read_activity_file(data, name)
    first = activity.sessions[0]
    return {
        "sport": first.sport_raw,
        "start": first.start_utc.strftime("%Y-%m-%dT%H:%M:%S"),
        "elapsed": round(first.elapsed_seconds, 1),
        "timer": round(activity.moving_seconds, 1) if len(activity.sessions) == 1 else None,
        "km": round(first.distance_km, 3),
        "records": len(activity.recording_values[0]) if activity.recording_values else 0,
    }


def _garmin_sdk(data: bytes, name: str) -> dict:
    from garmin_fit_sdk import Decoder, Stream

    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    messages, errors = decoder.read()
    if errors:
        raise ValueError(f"{type(errors[0]).__name__}: {str(errors[0])[:80]}")
    session = messages["session_mesgs"][0]
    return {
        "sport": str(session.get("sport")),
        "start": session["start_time"].strftime("%Y-%m-%dT%H:%M:%S"),
        "elapsed": round(session.get("total_elapsed_time") or 0.0, 1),
        "timer": round(session.get("total_timer_time") or 0.0, 1) if len(messages["session_mesgs"]) == 1 else None,
        "km": round((session.get("total_distance") or 0.0) / 1000, 3),
        "records": len(messages.get("record_mesgs", [])),
    }


def _fitfast(data: bytes, name: str) -> dict:
    import fitfast

    messages = fitfast.parse(data, datetimes=True)
    sessions = messages.get("session", [])
    session = sessions[0]
    return {
        "sport": str(session.get("sport")),
        "start": session["start_time"].strftime("%Y-%m-%dT%H:%M:%S"),
        "elapsed": round(session.get("total_elapsed_time") or 0.0, 1),
        "timer": round(session.get("total_timer_time") or 0.0, 1) if len(sessions) == 1 else None,
        "km": round((session.get("total_distance") or 0.0) / 1000, 3),
        "records": len(messages.get("record", [])),
    }


PARSERS = {"fitdecode (ours)": _ours, "garmin-fit-sdk": _garmin_sdk, "fitfast": _fitfast}


def _available(label: str) -> bool:
    module = {"garmin-fit-sdk": "garmin_fit_sdk", "fitfast": "fitfast"}.get(label)
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _figures(result: dict) -> dict:
    """What must agree: the session figures, or the fact of a rejection (each parser words its errors its own way).
    Record counts differ by design: ours counts the counted legs' samples of a multisport file."""
    if "error" in result:
        return {"error": True}
    return {k: v for k, v in result.items() if k not in ("ms", "records")}


def compare() -> None:
    files = sorted((FIXTURES / "fit").glob("*.fit"))
    parsers = {label: parse for label, parse in PARSERS.items() if _available(label)}
    print(f"## FIT parsers on {len(files)} real files: {', '.join(parsers)}\n")
    totals = dict.fromkeys(parsers, 0.0)
    disagreements = dict.fromkeys(parsers, 0)
    for path in files:
        data = path.read_bytes()
        results = {}
        for label, parse in parsers.items():
            started = time.perf_counter()
            try:
                results[label] = parse(data, path.name)
            except (ActivityFileError, Exception) as error:  # each parser fails in its own way
                reason = getattr(error, "reason", None) or f"{type(error).__name__}: {str(error)[:70]}"
                results[label] = {"error": reason}
            totals[label] += time.perf_counter() - started
            results[label]["ms"] = round((time.perf_counter() - started) * 1000)
        reference = _figures(results["fitdecode (ours)"])
        print(f"{path.name}")
        for label, result in results.items():
            figures = _figures(result)
            same = figures == reference
            disagreements[label] += not same
            print(f"  {label:17s} {'same' if same else 'DIFF'} {result}")
    print()
    for label in parsers:
        print(f"  {label:17s} total {totals[label]:6.2f} s, files disagreeing with fitdecode: {disagreements[label]}")
    print()


# --- 2./3. import throughput and memory ----------------------------------------------------------------------------
def _rss_kib() -> int:
    """This process's current resident set (KiB), from /proc: the peak (ru_maxrss) cannot show flatness."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * (resource.getpagesize() // 1024)


def import_throughput(label: str, sources: list[Path], count: int, workers: int, tmp: Path) -> None:
    """``count`` distinct files (the real ``sources`` shifted by whole days) through ``myrunstreak import``'s
    code path (discover → process pool → store in batches) into a fresh database."""
    folder = tmp / label.replace(" ", "_")
    folder.mkdir()
    shifted_copies(sources, count, folder)
    rss = {}

    def progress(done: int, total: int) -> None:
        if done in (total // 10, total):
            rss[done] = _rss_kib()

    with DuckDBManager(tmp / f"{folder.name}.duckdb") as manager:
        repo = RunRepository(manager.connection)
        started = time.perf_counter()
        summary = import_files(discover([folder]), repo.store_activity_files, workers=workers, progress=progress)
        seconds = time.perf_counter() - started
    early, late = rss.get(count // 10, 0), rss.get(count, 0)
    print(
        f"{label:22s} {count} files ({len(sources)} distinct sources) in {seconds:6.1f} s = "
        f"{count / seconds:6.1f} files/s | imported {summary.imported}, quarantined {len(summary.quarantined)} "
        f"| parent RSS {early / 1024:.0f} MiB after 10 %, {late / 1024:.0f} MiB at the end "
        "(workers hold one file at a time)"
    )


# --- 4. ten years of daily GPX through the Dagster asset --------------------------------------------------------------
def gpx_years_through_dagster(years: int, tmp: Path) -> None:
    """One GPX a day for ``years`` years (the real GPX runs, shifted) in a drop folder; ``import_files_job``
    (activity_files → analytics → calendar) on an ephemeral instance: cold, then again (nothing new)."""
    import dagster as dg

    from myrunstreak_pipeline.definitions import build_defs
    from myrunstreak_pipeline.settings import Settings

    runs = sorted(p for p in (FIXTURES / "gpx").glob("run_*.gpx") if "trimmed" not in p.name)
    drop = tmp / "gpx_drop"
    drop.mkdir()
    days = years * 365
    sources = [(path, path.read_bytes(), read_activity_file(path).local_date) for path in runs]
    last_day = dt.date.today() - dt.timedelta(days=1)
    for index in range(days):  # one run a day, the real runs in turn, ending yesterday: a 10-year streak
        path, data, day = sources[index % len(sources)]
        target = last_day - dt.timedelta(days=index)
        (drop / f"{target}_{path.name}").write_bytes(shifted_copy(data, path.name, (target - day).days))
    megabytes = sum(p.stat().st_size for p in drop.iterdir()) / 2**20
    settings = Settings.from_env(db=str(tmp / "gpx.duckdb"), import_dir=str(drop), timezone="Europe/London")
    job = build_defs(settings).resolve_job_def("import_files_job")
    for attempt in ("cold", "again (nothing new)"):
        started = time.perf_counter()
        with dg.DagsterInstance.ephemeral() as instance:
            result = job.execute_in_process(instance=instance)
        seconds = time.perf_counter() - started
        [materialization] = [m for m in result.asset_materializations_for_node("activity_files")]
        meta = {key: value.value for key, value in materialization.metadata.items()}
        print(
            f"{years} years of daily GPX ({days} files, {megabytes:.0f} MB), import_files_job {attempt}: "
            f"{seconds:5.1f} s (success={result.success}; imported {meta['imported']}, "
            f"already known {meta['already_known']}, quarantined {meta['quarantined']})"
        )
    with DuckDBManager(tmp / "gpx.duckdb", read_only=True) as manager:
        streak = manager.connection.execute("SELECT max(days) FROM streak_analysis").fetchone()
    print(f"longest streak after the import: {streak[0] if streak else 0} days (expected {days}: one run a day)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--gpx-years", type=int, default=10)
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--skip-mixed", action="store_true")
    parser.add_argument("--skip-dagster", action="store_true")
    args = parser.parse_args()
    if not args.skip_compare:
        compare()
    every = sorted(p for kind in ("fit", "gpx", "tcx") for p in (FIXTURES / kind).glob(f"*.{kind}"))
    readable = []
    for path in every:
        try:
            read_activity_file(path)
        except ActivityFileError:
            continue
        readable.append(path)
    typical = [p for p in readable if p.suffix == ".fit" and p.name not in NOT_TYPICAL]
    with tempfile.TemporaryDirectory(prefix="myrunstreak-import-bench-") as tmp:
        print(f"## Import (parse in {args.workers} processes + store in batches) of distinct files\n")
        if not args.skip_mixed:
            import_throughput("all formats", readable, args.files, args.workers, Path(tmp))
        import_throughput("typical FIT runs", typical, args.files, args.workers, Path(tmp))
        if not args.skip_dagster:
            print(f"\n## {args.gpx_years} years of one-run-a-day GPX through the Dagster asset\n")
            gpx_years_through_dagster(args.gpx_years, Path(tmp))


if __name__ == "__main__":
    main()
