"""benchmarks/shifted_copies.py: a real fixture moved by whole days parses to the same activity, only moved."""

from __future__ import annotations

import functools
import gzip
import importlib.util
from datetime import timedelta
from pathlib import Path

import pytest

from myrunstreak_pipeline.files import read_activity_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "activity_files"
BAD = {"corrupt_sdk_activity_unexpected_eof.fit", "run_strava_android_app_CORRUPT.fit"}
NO_TIMES = "route_strava_run_no_timestamps.gpx"
GOOD = sorted(
    p for kind in ("fit", "gpx", "tcx") for p in (FIXTURES / kind).glob(f"*.{kind}") if p.name not in BAD | {NO_TIMES}
)


def _module():
    spec = importlib.util.spec_from_file_location("shifted_copies", ROOT / "benchmarks" / "shifted_copies.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shifted = _module()


@functools.cache
def _original(path: Path):
    return read_activity_file(path)


# The time budget (< 10 s) is mostly parsing the large FIT files (up to 1.3 s each): +3 days for every good
# fixture but the two large single-session runs (the 1 MB multisport file stays); -1000 days for every GPX and TCX
# and the FIT files under 100 KB. benchmarks/shifted_copies.py was checked on every fixture at 1, 365, -3650 days.
LARGE_RUNS = {"run_fenix5xplus_1h54_pauses.fit", "run_fr920xt_2h24_pauses_laps.fit"}
CASES = [(p, 3) for p in GOOD if p.name not in LARGE_RUNS]
CASES += [(p, -1000) for p in GOOD if p.suffix != ".fit" or p.stat().st_size < 100_000]


@pytest.mark.parametrize(("path", "days"), CASES, ids=lambda case: case.name if isinstance(case, Path) else case)
def test_shifted_copy_is_the_same_activity_moved(path: Path, days: int) -> None:
    original = _original(path)
    copy = read_activity_file(shifted.shifted_copy(path.read_bytes(), path.name, days), path.name)
    assert copy.start_utc == original.start_utc + timedelta(days=days)
    assert copy.content_sha256 != original.content_sha256
    assert copy.distance_km == original.distance_km
    assert copy.elapsed_seconds == original.elapsed_seconds
    assert copy.moving_seconds == original.moving_seconds
    assert copy.laps == original.laps
    assert copy.recording_keys == original.recording_keys
    assert copy.recording_values == original.recording_values
    assert [s.start_utc - timedelta(days=days) for s in copy.sessions] == [s.start_utc for s in original.sessions]


@pytest.mark.parametrize("name", sorted(BAD | {NO_TIMES}))
def test_unshiftable_files_raise_value_error(name: str) -> None:
    path = FIXTURES / name.rsplit(".", 1)[1] / name
    with pytest.raises(ValueError):
        shifted.shifted_copy(path.read_bytes(), name, 1)


def test_gzip_and_chained_fit() -> None:
    tcx = FIXTURES / "tcx" / "run_fr620_3laps_hr.tcx"
    copy = shifted.shifted_copy(gzip.compress(tcx.read_bytes()), "a.tcx.gz", 2)
    assert read_activity_file(copy, "a.tcx.gz").start_utc == _original(tcx).start_utc + timedelta(days=2)
    one, two = (FIXTURES / "fit" / "walk_fenix5_45s.fit").read_bytes(), (FIXTURES / "fit" / "run_fr110_laps_hr.fit")
    chained = shifted.shifted_copy(one + two.read_bytes(), "c.fit", 5)
    assert chained == shifted.shifted_copy(one, "a.fit", 5) + shifted.shifted_copy(two.read_bytes(), "b.fit", 5)


def test_shifted_copies_are_distinct(tmp_path: Path) -> None:
    small = [FIXTURES / "fit" / "walk_fenix5_45s.fit", FIXTURES / "gpx" / "run_applewatch_3segments_hr_trimmed.gpx"]
    sources = [*small, FIXTURES / "fit" / "run_strava_android_app_CORRUPT.fit"]
    with pytest.raises(ValueError, match="CORRUPT"):
        shifted.shifted_copies(sources, 4, tmp_path)
    written = shifted.shifted_copies(sources, 5, tmp_path, step_days=2, skip_bad=True)
    assert len({p.read_bytes() for p in written}) == 5
    assert [p.name for p in written[2:4]] == [
        "walk_fenix5_45s_000002.fit",
        "run_applewatch_3segments_hr_trimmed_000003.gpx",
    ]
    assert read_activity_file(written[2]).start_utc == _original(small[0]).start_utc - timedelta(days=6)
    assert read_activity_file(written[3]).start_utc == _original(small[1]).start_utc - timedelta(days=8)
