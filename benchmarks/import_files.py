"""Activity-file import: FIT parsers side by side, then files/s with a process pool and peak memory.

    .venv/bin/python benchmarks/import_files.py [--files 2000] [--workers 2] [--skip-compare] [--skip-mixed]

1. **Parser comparison** on the real FIT fixtures (myrunstreak_pipeline_tests/fixtures/activity_files/fit):
   fitdecode (what the package uses, through ``read_activity_file``), garmin-fit-sdk and fitfast, each on its own
   (decode the whole file, read the sessions). Per file: the first session's start, elapsed and timer time,
   distance and sport, the record count, errors, and the time. Correctness first: a parser must read every good
   file to the same figures and reject the corrupt ones. garmin-fit-sdk and fitfast are NOT dependencies of the
   package; install them only to run this comparison (``.venv/bin/pip install garmin-fit-sdk fitfast``); a parser
   that is not installed is skipped.
2. **Throughput**: ``--files`` files (the real fixtures repeated) through ``read_activity_file`` in a process pool
   of ``--workers`` processes; once all formats mixed, once FIT only, once "typical" FIT (single-session runs and
   walks up to ~2.5 h: every good FIT fixture except the 1 MB triathlon and the 3.5 h ride). Workers return a
   small summary, never the activity, so the parent stays flat.
3. **Peak memory**: each worker reports its own peak RSS with every result; the peak after the first 10 % of the
   files and after all of them must be (nearly) equal: memory flat in the number of files.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from myrunstreak_pipeline.files import ActivityFileError, read_activity_file

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


# --- 2./3. throughput and memory -------------------------------------------------------------------------------------
def _load(path: str) -> tuple[str, int]:
    try:
        read_activity_file(path)
        outcome = "loaded"
    except ActivityFileError:
        outcome = "quarantined"
    return outcome, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def throughput(label: str, pool_files: list[Path], count: int, workers: int) -> None:
    paths = [str(path) for path in itertools.islice(itertools.cycle(pool_files), count)]
    outcomes = {"loaded": 0, "quarantined": 0}
    early_peak = peak = 0
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for index, (outcome, rss) in enumerate(pool.map(_load, paths, chunksize=4)):
            outcomes[outcome] += 1
            peak = max(peak, rss)
            if index < count // 10:
                early_peak = peak
    seconds = time.perf_counter() - started
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{label:34s} {count} files ({len(pool_files)} distinct) in {seconds:6.1f} s = {count / seconds:6.1f} files/s "
        f"| loaded {outcomes['loaded']}, quarantined {outcomes['quarantined']} "
        f"| worker peak RSS {early_peak / 1024:.0f} MiB after 10 %, {peak / 1024:.0f} MiB at the end; "
        f"parent {parent / 1024:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--skip-mixed", action="store_true")
    args = parser.parse_args()
    if not args.skip_compare:
        compare()
    every = sorted(p for kind in ("fit", "gpx", "tcx") for p in (FIXTURES / kind).glob(f"*.{kind}"))
    fit = [p for p in every if p.suffix == ".fit"]
    typical = []
    for path in fit:
        if path.name in NOT_TYPICAL:
            continue
        try:
            read_activity_file(path)
        except ActivityFileError:
            continue
        typical.append(path)
    print(f"## Throughput: read_activity_file in a pool of {args.workers} processes\n")
    if not args.skip_mixed:
        throughput("all formats (incl. corrupt)", every, args.files, args.workers)
    throughput("FIT only (incl. corrupt, triathlon)", fit, args.files, args.workers)
    throughput("typical FIT runs", typical, args.files, args.workers)


if __name__ == "__main__":
    main()
