"""Importing activity files end to end, as a careful runner and as an attacker would: real fixture files into a
real DuckDB file, the same-run rule at its edges against SmashRun payloads, sports, local dates, a Strava export
zip and the CLI (``myrunstreak import`` / ``myrunstreak runs``) in subprocesses.

The subprocess calls all start at once (``cli``, module scope) and each test reads its own result: the CLI costs
~1.5 s a process, so running them side by side keeps the module well under a minute.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from myrunstreak_pipeline.analytics.rule import set_streak_rule
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.files import read_activity_file
from myrunstreak_pipeline.imports import discover, import_files
from myrunstreak_pipeline_tests.fixtures import payloads

FIXTURES = Path(__file__).parent / "fixtures" / "activity_files"
BIN = Path(sys.executable).parent
MYRUNSTREAK = str(BIN / "myrunstreak")

TCX_TOMTOM = "file:5e2565fcd06102bb"  # tcx/run_tomtom.tcx: the same run as ...
GPX_TOMTOM = "file:8407fc659d76ae27"  # ... gpx/run_tomtom_2segments.gpx (4.83 vs 4.81 km, same start)
FR620_TCX = "file:e7f5c9d06598f594"  # tcx/run_fr620_3laps_hr.tcx, 2018-11-25T07:20:49Z, 2.15 km, 3 laps
RIDE_FIT = "file:1a9c2923f7bc66fa"  # fit/ride_coros_pace2_3h32.fit
WALK_FIT = "file:1a3e05a7379efc24"  # fit/walk_fenix5_45s.fit
NRC_GPX = "file:aa351394f3e5f080"  # gpx/run_nrc_forgot_stop_24h_crosses_midnight.gpx
FR645M_FIT = "file:34e304fa2bf94f78"
GARMIN_GPX = "file:6fcec98463020575"
FR410_TCX = "file:75ef1eb3aad7a906"

CORRUPT = {
    "fit/corrupt_sdk_activity_unexpected_eof.fit": "truncated FIT file",
    "fit/run_strava_android_app_CORRUPT.fit": "corrupt FIT file",
    "gpx/route_strava_run_no_timestamps.gpx": "no timestamps",
}
FIXTURE_FILES = 23
IMPORTABLE = 20
ALL_ALLOWED_SPORTS = ["running", "walking", "hiking", "other"]


# ------------------------------------------------------------------------------------------------ helpers


def _import(con, *paths: Path | str, **kwargs):
    kwargs.setdefault("workers", 1)
    return import_files(discover(list(paths)), RunRepository(con).store_activity_files, **kwargs)


def _copy_db(source: Path, folder: Path, name: str = "runs.duckdb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    shutil.copyfile(source, target)
    return target


def _snapshot(con) -> dict[str, list[tuple]]:
    """Every base table's full contents (timestamps included), in a stable order."""
    tables = [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
    ]
    return {table: con.execute(f'SELECT * FROM "{table}" ORDER BY ALL').fetchall() for table in tables}


def _counted(con) -> set[str]:
    return {row[0] for row in con.execute("SELECT activity_id FROM counted_runs").fetchall()}


def _decisions(con) -> list[tuple]:
    """run_duplicates without decided_at."""
    return con.execute(
        "SELECT activity_id, kept_activity_id, rule, reason, start_gap_seconds, distance_gap_percent "
        "FROM run_duplicates ORDER BY activity_id"
    ).fetchall()


def _smashrun_like(con, file_id: str, *, gap: float = 0.0, km: float | None = None, **overrides):
    """A SmashRun payload starting ``gap`` s after the stored file run, written with a +01:00 offset."""
    start, distance = con.execute(
        "SELECT start_time_utc, distance_km FROM runs WHERE activity_id = ?", [file_id]
    ).fetchone()
    moment = (start + timedelta(seconds=gap)).replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=1)))
    return payloads.gps_run(start=moment.isoformat(), distance=distance if km is None else km, **overrides)


def _stamp(moment: datetime) -> str:
    offset = moment.utcoffset()
    if not offset:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat(timespec="seconds")


def _gpx(start: datetime, seconds: int, km: float, *, lat: float, lon: float, sport: str = "running") -> bytes:
    """A tiny GPX track heading north from (lat, lon): a point a minute, ``km`` in all; times as ``start`` has
    them (with its offset, or ``Z``)."""
    steps = seconds // 60
    points = "".join(
        f'<trkpt lat="{lat + km / 111.195 * i / steps:.7f}" lon="{lon:.7f}">'
        f"<time>{_stamp(start + timedelta(seconds=60 * i))}</time></trkpt>"
        for i in range(steps + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>constructed</name><type>{sport}</type><trkseg>{points}</trkseg></trk></gpx>"
    ).encode()


def _tcx_without_gps(start_utc: datetime, seconds: int, km: float) -> bytes:
    """A treadmill-style TCX: timestamps in ``Z``, distances, no <Position> at all (no zone, no GPS)."""
    steps = seconds // 10
    points = "".join(
        f"<Trackpoint><Time>{_stamp(start_utc + timedelta(seconds=10 * i))}</Time>"
        f"<DistanceMeters>{km * 1000 * i / steps:.1f}</DistanceMeters></Trackpoint>"
        for i in range(steps + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        f'<Activities><Activity Sport="Running"><Id>{_stamp(start_utc)}</Id><Lap StartTime="{_stamp(start_utc)}">'
        f"<TotalTimeSeconds>{seconds}</TotalTimeSeconds><DistanceMeters>{km * 1000:.1f}</DistanceMeters>"
        f"<Calories>0</Calories><Intensity>Active</Intensity><TriggerMethod>Manual</TriggerMethod>"
        f"<Track>{points}</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
    ).encode()


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# ------------------------------------------------------------------------------ the fixture folder, once


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> tuple[Path, object]:
    """The whole fixture folder imported (through the process pool) into a fresh database file."""
    path = tmp_path_factory.mktemp("base") / "runs.duckdb"
    with DuckDBManager(path) as manager:
        summary = _import(manager.connection, FIXTURES, workers=2, default_zone="UTC")
    return path, summary


@pytest.fixture
def base(base_db, tmp_path):
    """A private copy of the imported database, open for writing."""
    with DuckDBManager(_copy_db(base_db[0], tmp_path)) as manager:
        yield manager.connection


def test_fixture_folder_import_counts_and_quarantine(base_db, base):
    summary = base_db[1]
    assert summary.files == FIXTURE_FILES
    assert summary.imported == IMPORTABLE
    assert summary.known == 0
    assert summary.duplicates_of_smashrun == 0
    assert summary.duplicates_of_files == 1  # the TomTom GPX: the same run as the TomTom TCX
    assert summary.not_counted == 2  # the ride (never) and the walk (not configured)
    reasons = {Path(name).relative_to(FIXTURES).as_posix(): reason for name, reason in summary.quarantined}
    assert set(reasons) == set(CORRUPT)
    for name, start in CORRUPT.items():
        assert reasons[name].startswith(start), reasons[name]
    stored = base.execute("SELECT payload_kind, reason FROM quarantine ORDER BY reason").fetchall()
    assert len(stored) == 3 and {kind for kind, _ in stored} == {"file"}
    assert sorted(reason for _, reason in stored) == sorted(reasons.values())


def test_every_imported_file_is_a_run_with_its_format_laps_and_recording(base):
    rows = base.execute(
        "SELECT r.activity_id, r.data_source, f.file_format, f.file_name, f.content_sha256 "
        "FROM runs AS r FULL JOIN activity_files AS f USING (activity_id) ORDER BY 1"
    ).fetchall()
    assert len(rows) == IMPORTABLE
    for activity_id, data_source, file_format, file_name, digest in rows:
        assert data_source == file_format, activity_id
        assert file_name.endswith("." + file_format)
        assert activity_id == f"file:{digest[:16]}"
        assert (FIXTURES / Path(file_name).relative_to(FIXTURES)).is_file()
    assert base.execute("SELECT count(*) FROM runs WHERE data_source = 'smashrun'").fetchone() == (0,)
    laps = dict(base.execute("SELECT activity_id, count(*) FROM laps GROUP BY 1").fetchall())
    # SOURCES.md: laps each device recorded
    assert laps[FR620_TCX] == 3
    assert laps[FR410_TCX] == 3
    assert laps["file:e72c0dcc3b0ad535"] == 5  # fit/run_fr110_laps_hr.fit
    assert laps["file:a47925750371f1c0"] == 11  # fit/run_fr920xt_2h24_pauses_laps.fit
    assert laps[RIDE_FIT] == 4
    last_lap = base.execute(
        "SELECT max(end_distance_km), max(end_duration_seconds) FROM laps WHERE activity_id = ?", [FR620_TCX]
    ).fetchone()
    assert last_lap[0] == pytest.approx(2.15, rel=0.01)
    # every file has a recording (time series), with as many samples as its points
    recorded = dict(base.execute("SELECT activity_id, sample_count FROM recording_data").fetchall())
    assert set(recorded) == {row[0] for row in rows}
    assert recorded[FR620_TCX] == 147  # SOURCES.md: 147 points
    assert recorded["file:e72c0dcc3b0ad535"] == 590  # 590 records


def test_reimport_is_a_no_op_to_the_byte(base, tmp_path):
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    (renamed / "another_name.tcx.gz").write_bytes(_gz((FIXTURES / "tcx" / "run_fr620_3laps_hr.tcx").read_bytes()))
    (renamed / "UPPER.GPX").write_bytes((FIXTURES / "gpx" / "run_tomtom_2segments.gpx").read_bytes())
    repo = RunRepository(base)
    before = _snapshot(base)
    # as the CLI does it (hashes known up front: skipped unparsed) ...
    again = _import(base, FIXTURES, known=frozenset(repo.all_file_hashes()))
    # ... and with nothing known up front: the store itself recognises the content
    copies = _import(base, renamed)
    both = _import(base, FIXTURES / "tcx", renamed)
    after = _snapshot(base)
    for table in before:
        assert after[table] == before[table], f"{table} changed on re-import"
    assert (again.imported, again.known, len(again.quarantined)) == (0, IMPORTABLE, 3)
    assert (copies.files, copies.imported, copies.known, copies.quarantined) == (2, 0, 2, [])
    assert (both.files, both.imported, both.known) == (6, 0, 6)
    assert copies.duplicates_of_files == 0 and copies.not_counted == 0


def test_same_content_twice_in_one_batch_is_stored_once(tmp_path):
    folder = tmp_path / "twice"
    folder.mkdir()
    data = (FIXTURES / "tcx" / "run_fr620_3laps_hr.tcx").read_bytes()
    (folder / "a.tcx").write_bytes(data)
    (folder / "b.tcx.gz").write_bytes(_gz(data))
    with DuckDBManager(tmp_path / "runs.duckdb") as manager:
        summary = _import(manager.connection, folder)
        assert (summary.imported, summary.known) == (1, 1)
        assert manager.connection.execute("SELECT count(*), min(file_name) FROM activity_files").fetchone() == (
            1,
            str(folder / "a.tcx"),
        )


# ------------------------------------------------------------------------------------- the same-run rule


@pytest.fixture
def fr620(tmp_path):
    """A database holding one real file (the FR620 TCX) and nothing else."""
    with DuckDBManager(tmp_path / "runs.duckdb") as manager:
        assert _import(manager.connection, FIXTURES / "tcx" / "run_fr620_3laps_hr.tcx").imported == 1
        yield manager.connection


@pytest.mark.parametrize(
    ("gap", "merged"),
    [(0, True), (300, True), (-300, True), (301, False), (-301, False), (300.5, False)],
)
def test_start_gap_edges(fr620, gap, merged):
    payload = _smashrun_like(fr620, FR620_TCX, gap=gap)
    assert RunRepository(fr620).upsert_activities([payload]).quarantined == 0
    decisions = _decisions(fr620)
    if merged:
        assert [(d[0], d[1], d[4]) for d in decisions] == [(FR620_TCX, str(payload["activityId"]), abs(gap))]
        assert f"starts {abs(gap)} s apart" in decisions[0][3]
        assert _counted(fr620) == {str(payload["activityId"])}
    else:
        assert decisions == []
        assert _counted(fr620) == {FR620_TCX, str(payload["activityId"])}


@pytest.mark.parametrize(
    ("label", "smashrun_km", "merged"),
    [
        ("smashrun exactly 5 % shorter", lambda km: km * 0.95, True),
        ("smashrun a hair more than 5 % shorter", lambda km: km * 0.95 - 1e-6, False),
        ("file exactly 5 % shorter", lambda km: km / 0.95, True),
        ("file a hair more than 5 % shorter", lambda km: km / 0.95 + 1e-6, False),
        ("4.9 % longer", lambda km: km * 1.049, True),
    ],
)
def test_distance_edges(fr620, label, smashrun_km, merged):
    file_km = fr620.execute("SELECT distance_km FROM runs WHERE activity_id = ?", [FR620_TCX]).fetchone()[0]
    assert file_km == pytest.approx(2.15367)
    payload = _smashrun_like(fr620, FR620_TCX, km=smashrun_km(file_km))
    RunRepository(fr620).upsert_activities([payload])
    decisions = _decisions(fr620)
    assert bool(decisions) is merged, label
    if merged:
        assert decisions[0][1] == str(payload["activityId"])
        assert decisions[0][5] <= 5.0 + 1e-9


def test_two_smashrun_records_are_never_merged(fr620):
    first = _smashrun_like(fr620, FR620_TCX, gap=30)
    second = _smashrun_like(fr620, FR620_TCX, gap=30)
    RunRepository(fr620).upsert_activities([first, second])
    # the file is the same run as both: it points at the nearer-starting one, the smaller id among equals
    assert [(d[0], d[1]) for d in _decisions(fr620)] == [(FR620_TCX, str(first["activityId"]))]
    assert _counted(fr620) == {str(first["activityId"]), str(second["activityId"])}
    day = fr620.execute("SELECT run_count FROM run_days WHERE day = DATE '2018-11-25'").fetchone()
    assert day == (2,)


def test_tcx_and_gpx_of_one_run_count_once(base):
    assert [(d[0], d[1]) for d in _decisions(base)] == [(GPX_TOMTOM, TCX_TOMTOM)]
    reason = _decisions(base)[0][3]
    assert "kept the tcx file (ranked above gpx)" in reason and "starts 0 s apart" in reason
    counted = _counted(base)
    assert TCX_TOMTOM in counted and GPX_TOMTOM not in counted
    day = base.execute("SELECT run_count, total_km FROM daily_summary WHERE day = DATE '2017-05-27'").fetchone()
    tcx_km = base.execute("SELECT distance_km FROM runs WHERE activity_id = ?", [TCX_TOMTOM]).fetchone()[0]
    assert day == (1, pytest.approx(tcx_km))
    listed = RunRepository(base).list_duplicates()
    assert [(r["activity_id"], r["source"], r["kept_activity_id"], r["kept_source"]) for r in listed] == [
        (GPX_TOMTOM, "gpx", TCX_TOMTOM, "tcx")
    ]


TOMTOM_FILES = (FIXTURES / "tcx" / "run_tomtom.tcx", FIXTURES / "gpx" / "run_tomtom_2segments.gpx")


def _tomtom_smashrun(activity_id: int) -> dict:
    """A SmashRun record of the TomTom run, built from the file alone: 120 s later, 2 % longer."""
    tcx = read_activity_file(TOMTOM_FILES[0])
    start = (tcx.start_utc + timedelta(seconds=120)).astimezone(timezone(timedelta(hours=1)))
    return payloads.gps_run(activity_id, start=start.isoformat(), distance=round(tcx.distance_km * 1.02, 5))


@pytest.mark.parametrize("order", ["files first", "smashrun first"])
def test_order_independence_and_deleting_the_kept_run(tmp_path, order):
    smashrun = _tomtom_smashrun(77_000_001)
    with DuckDBManager(tmp_path / "runs.duckdb") as manager:
        con, repo = manager.connection, RunRepository(manager.connection)
        if order == "smashrun first":
            repo.upsert_activities([smashrun])
        summary = _import(con, *TOMTOM_FILES)
        if order == "files first":
            assert _decisions(con)[0][:2] == (GPX_TOMTOM, TCX_TOMTOM)
            repo.upsert_activities([smashrun])
        else:
            assert summary.duplicates_of_smashrun == 2
        decisions = _decisions(con)
        assert [(d[0], d[1]) for d in decisions] == [(TCX_TOMTOM, "77000001"), (GPX_TOMTOM, "77000001")]
        assert {d[4] for d in decisions} == {120.0}
        assert _counted(con) == {"77000001"}
        # the same rows whatever the order (decided_at aside): the files-first order is the reference
        assert decisions == _expected_tomtom_decisions()
        # SmashRun deletes the kept run: the best file counts again, the GPX still points at it
        assert repo.mark_deleted(["77000001"]) == 1
        assert _counted(con) == {TCX_TOMTOM}
        assert [(d[0], d[1]) for d in _decisions(con)] == [(GPX_TOMTOM, TCX_TOMTOM)]


_EXPECTED: list = []


def _expected_tomtom_decisions() -> list[tuple]:
    """The decisions of the files-first order, computed once in an in-memory database (the reference)."""
    if not _EXPECTED:
        with DuckDBManager() as manager:
            _import(manager.connection, *TOMTOM_FILES)
            RunRepository(manager.connection).upsert_activities([_tomtom_smashrun(77_000_001)])
            _EXPECTED.extend(_decisions(manager.connection))
    return _EXPECTED


def test_split_survives_later_writes_and_unsplit_merges_again(fr620, tmp_path):
    repo = RunRepository(fr620)
    payload = _smashrun_like(fr620, FR620_TCX, gap=42)
    smashrun_id = str(payload["activityId"])
    repo.upsert_activities([payload])
    assert _counted(fr620) == {smashrun_id}
    first_decided = fr620.execute("SELECT decided_at FROM run_duplicates").fetchone()[0]

    assert repo.split_duplicate(FR620_TCX) == [(smashrun_id, FR620_TCX)]  # stored as (smaller, larger)
    assert _decisions(fr620) == []
    assert _counted(fr620) == {smashrun_id, FR620_TCX}
    assert fr620.execute("SELECT run_count FROM run_days WHERE day = DATE '2018-11-25'").fetchone() == (2,)
    # later writes of every kind leave the split alone
    repo.upsert_activities([{**payload, "dateUpdatedUTC": "2023-01-01T00:00:00", "distance": 2.16}])
    _import(fr620, FIXTURES / "tcx" / "run_fr410_3laps_hr.tcx")
    assert _decisions(fr620) == []
    with pytest.raises(MyRunStreakError, match="not merged"):
        repo.split_duplicate(FR620_TCX)
    assert [(a, b) for a, b, _ in repo.list_splits()] == [(smashrun_id, FR620_TCX)]

    assert repo.unsplit_duplicate(smashrun_id) == [(smashrun_id, FR620_TCX)]
    decisions = _decisions(fr620)
    assert [(d[0], d[1]) for d in decisions] == [(FR620_TCX, smashrun_id)]
    assert decisions[0][5] == pytest.approx(abs(2.16 - 2.15367) / 2.16 * 100)  # the updated figures
    assert fr620.execute("SELECT decided_at FROM run_duplicates").fetchone()[0] >= first_decided
    assert repo.list_splits() == []
    with pytest.raises(MyRunStreakError, match="never split"):
        repo.unsplit_duplicate(smashrun_id)


def test_decision_figures_follow_an_edited_smashrun_run(fr620):
    """SmashRun edits a run slightly (the rounded reason text stays the same): the stored figures follow."""
    repo = RunRepository(fr620)
    payload = _smashrun_like(fr620, FR620_TCX, gap=10)
    repo.upsert_activities([payload])
    before = _decisions(fr620)[0]
    assert before[5] == pytest.approx(0.0)
    repo.upsert_activities([{**payload, "distance": 2.154, "dateUpdatedUTC": "2023-01-01T00:00:00"}])
    after = _decisions(fr620)[0]
    assert after[3] == before[3]  # "... distances 0.0 % apart ..." either way
    assert after[5] == pytest.approx((2.154 - 2.15367) / 2.154 * 100)


def test_views_count_a_run_recorded_three_times_once(tmp_path):
    """SmashRun + TCX + GPX of one run today: streak, summaries and records see one run."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = max(now - timedelta(hours=2), now.replace(hour=0, minute=0, second=1))
    km = 5.0
    folder = tmp_path / "today"
    folder.mkdir()
    (folder / "watch.tcx").write_bytes(_tcx_without_gps(start, 1800, km))
    (folder / "phone.gpx").write_bytes(_gpx(start + timedelta(seconds=20), 1800, km * 0.99, lat=51.5, lon=-0.12))
    with DuckDBManager(tmp_path / "runs.duckdb") as manager:
        con = manager.connection
        set_streak_rule(con, 8.0, "sum", "UTC")  # two 5 km records on one day would qualify; one run does not
        summary = _import(con, folder, default_zone="UTC")
        assert (summary.imported, summary.duplicates_of_files) == (2, 1)
        payload = payloads.gps_run(
            88_000_001, start=(start + timedelta(seconds=60)).isoformat(), distance=km, duration=1800.0
        )
        RunRepository(con).upsert_activities([payload])
        assert _counted(con) == {"88000001"}
        today = start.date()
        assert con.execute(
            "SELECT run_count, CAST(total_km_exact AS DOUBLE) FROM run_days WHERE day = ?", [today]
        ).fetchone() == (
            1,
            pytest.approx(km),
        )
        daily = con.execute("SELECT run_count, total_km, qualifies FROM daily_summary").fetchall()
        assert daily == [(1, pytest.approx(km), False)]
        streak = con.execute("SELECT status, days, today_km FROM current_streak").fetchone()
        assert streak[1] == 0 and streak[2] == pytest.approx(km)
        records = {row[0]: row for row in con.execute("SELECT * FROM personal_records").fetchall()}
        assert records["longest_day"][1] == pytest.approx(km)
        assert records["longest_run"][5] == "88000001"
        # were the three records counted, the day would reach 8 km
        set_streak_rule(con, 4.9, "sum", "UTC")
        assert con.execute("SELECT days FROM current_streak").fetchone() == (1,)


# ---------------------------------------------------------------------------------------------------- sports


def test_a_ride_never_counts_and_a_walk_only_when_configured(base):
    assert base.execute("SELECT activity_type FROM runs WHERE activity_id = ?", [RIDE_FIT]).fetchone() == ("cycling",)
    counted = _counted(base)
    assert RIDE_FIT not in counted and WALK_FIT not in counted
    assert len(counted) == IMPORTABLE - 3  # ride, walk, the GPX duplicate
    set_streak_rule(base, 1.609344, "sum", None, ALL_ALLOWED_SPORTS)
    counted = _counted(base)
    assert RIDE_FIT not in counted and WALK_FIT in counted
    assert len(counted) == IMPORTABLE - 2
    with pytest.raises(MyRunStreakError):
        set_streak_rule(base, 1.609344, "sum", None, ["running", "cycling"])
    set_streak_rule(base, 1.609344, "sum", None, ["running"])
    assert WALK_FIT not in _counted(base)
    ride_day = base.execute("SELECT start_date FROM runs WHERE activity_id = ?", [RIDE_FIT]).fetchone()[0]
    assert base.execute("SELECT count(*) FROM run_days WHERE day = ?", [ride_day]).fetchone() == (0,)


# ------------------------------------------------------------------------------------------------ local date


def test_a_run_across_midnight_counts_for_its_start_day_only(base, tmp_path):
    # the real NRC file: tracking left on for 24 h from 2021-01-17 07:23 local (Recife)
    row = base.execute(
        "SELECT r.start_date, f.zone_source, f.time_zone FROM runs AS r JOIN activity_files AS f USING (activity_id) "
        "WHERE activity_id = ?",
        [NRC_GPX],
    ).fetchone()
    assert row == (date(2021, 1, 17), "gps", "America/Recife")
    days = dict(base.execute("SELECT day, run_count FROM run_days WHERE year(day) = 2021").fetchall())
    assert days == {date(2021, 1, 17): 1}

    folder = tmp_path / "midnight"
    folder.mkdir()
    # 23:50 -> 00:30 at -05:00 written in the file (UTC: already the 11th); and the same in Z, placed by GPS
    eastern = timezone(timedelta(hours=-5))
    (folder / "offset.gpx").write_bytes(
        _gpx(datetime(2024, 3, 10, 23, 50, tzinfo=eastern), 2400, 6.0, lat=10.0, lon=-84.0)
    )
    (folder / "gps.gpx").write_bytes(
        _gpx(datetime(2024, 1, 20, 4, 50, tzinfo=UTC), 2400, 6.0, lat=40.78, lon=-73.97)  # New York, EST
    )
    with DuckDBManager(tmp_path / "midnight.duckdb") as manager:
        con = manager.connection
        assert _import(con, folder, default_zone="Asia/Tokyo").imported == 2
        rows = con.execute(
            "SELECT r.start_date, r.start_time_utc, f.zone_source, f.time_zone, r.utc_offset_minutes "
            "FROM runs AS r JOIN activity_files AS f USING (activity_id) ORDER BY r.start_time_utc"
        ).fetchall()
        assert rows == [
            (date(2024, 1, 19), datetime(2024, 1, 20, 4, 50), "gps", "America/New_York", -300),
            (date(2024, 3, 10), datetime(2024, 3, 11, 4, 50), "file", None, -300),
        ]
        days = con.execute("SELECT day, run_count FROM run_days ORDER BY day").fetchall()
        assert days == [(date(2024, 1, 19), 1), (date(2024, 3, 10), 1)]


@pytest.mark.parametrize(
    ("zone", "local_day", "offset_minutes"),
    [("Pacific/Auckland", date(2024, 7, 1), 720), ("America/Los_Angeles", date(2024, 6, 30), -420)],
)
def test_no_zone_and_no_gps_is_dated_in_the_default_zone(tmp_path, zone, local_day, offset_minutes):
    path = tmp_path / "treadmill.tcx"
    path.write_bytes(_tcx_without_gps(datetime(2024, 6, 30, 20, 0, tzinfo=UTC), 1500, 5.0))
    with DuckDBManager(tmp_path / "runs.duckdb") as manager:
        con = manager.connection
        assert _import(con, path, default_zone=zone).imported == 1
        row = con.execute(
            "SELECT r.start_date, r.utc_offset_minutes, r.has_details_gps, f.zone_source, f.time_zone "
            "FROM runs AS r JOIN activity_files AS f USING (activity_id)"
        ).fetchone()
        assert row == (local_day, offset_minutes, False, "default", zone)


# ------------------------------------------------------------------------------------ the CLI, in parallel

STRAVA_HEADER = (
    "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,Elapsed Time,Distance,"
    "Max Heart Rate,Commute,Filename,Distance\n"
)


def _strava_zip(path: Path) -> Path:
    rows = [
        ("1001", "Sep 14, 2019, 3:22:05 PM", "Commute, on the bike", "Ride", "fit/run_fr645m_laps_hr.fit", "fit"),
        ("1002", "Jul 29, 2017, 2:46:35 PM", "Morning Run ☀", "Run", "gpx/run_garmin_connect_hr_1h32.gpx", "gpx"),
        ("1003", "Dec 26, 2012, 9:29:53 PM", "Track, 3 laps", "Run", "tcx/run_fr410_3laps_hr.tcx", "tcx"),
    ]
    lines = [STRAVA_HEADER]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for activity_id, when, title, sport, source, kind in rows:
            member = f"activities/{activity_id}.{kind}.gz"
            archive.writestr(member, _gz((FIXTURES / source).read_bytes()))
            lines.append(f'{activity_id},"{when}","{title}",{sport},,1000,5.0,150,false,{member},5000.0\n')
        archive.writestr("activities.csv", "".join(lines).encode())
        archive.writestr("profile.csv", b"Athlete ID\n1\n")
    return path


RACE_FILES = (
    "tcx/run_tomtom.tcx",
    "gpx/run_tomtom_2segments.gpx",
    "fit/run_fr110_laps_hr.fit",
    "tcx/run_fr620_3laps_hr.tcx",
    "fit/corrupt_sdk_activity_unexpected_eof.fit",
)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MYRUNSTREAK_", "SMASHRUN_"))}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def cli(base_db, tmp_path_factory) -> dict[str, tuple[int, str, str, Path]]:
    """Every CLI case as a subprocess, all started at once: name -> (exit code, stdout, stderr, its folder)."""
    root = tmp_path_factory.mktemp("cli")
    tcx = str(FIXTURES / "tcx" / "run_fr620_3laps_hr.tcx")
    cases: dict[str, tuple[list[str], dict[str, str]]] = {}

    def folder(name: str) -> Path:
        path = root / name
        path.mkdir()
        return path

    def add(name: str, *args: str, env: dict[str, str] | None = None) -> Path:
        cases[name] = ([MYRUNSTREAK, *args], env or {})
        return root / name

    where = folder("missing_path")
    add("missing_path", "import", tcx, str(where / "nope.fit"), "--db", str(where / "runs.duckdb"))
    where = folder("empty_folder")
    (where / "empty").mkdir()
    (where / "empty" / "notes.txt").write_text("not an activity")
    add("empty_folder", "import", str(where / "empty"), "--db", str(where / "runs.duckdb"))
    where = folder("db_is_folder")
    add("db_is_folder", "import", tcx, "--db", str(where))
    where = folder("db_corrupt")
    (where / "runs.duckdb").write_bytes(random.Random(1).randbytes(4096))
    add("db_corrupt", "import", tcx, "--db", str(where / "runs.duckdb"))
    for workers in ("0", "-1", "abc", "999"):
        where = folder(f"workers_{workers}")
        add(f"workers_{workers}", "import", tcx, "--db", str(where / "runs.duckdb"), "--workers", workers)
    where = folder("sports_cycling")
    add(
        "sports_cycling",
        "import",
        tcx,
        "--db",
        str(where / "runs.duckdb"),
        env={"MYRUNSTREAK_STREAK_SPORTS": "running,cycling"},
    )
    where = folder("runs_no_action")
    add("runs_no_action", "runs", "--db", str(_copy_db(base_db[0], where)))
    where = folder("split_unknown")
    add("split_unknown", "runs", "--split", "file:0000000000000000", "--db", str(_copy_db(base_db[0], where)))
    where = folder("unsplit_nothing")
    add("unsplit_nothing", "runs", "--unsplit", GPX_TOMTOM, "--db", str(_copy_db(base_db[0], where)))
    where = folder("split_missing_db")
    add("split_missing_db", "runs", "--split", GPX_TOMTOM, "--db", str(where / "runs.duckdb"))

    # what a user means to work
    where = folder("only_corrupt")
    (where / "in").mkdir()
    for name in CORRUPT:
        shutil.copy(FIXTURES / name, where / "in" / Path(name).name)
    (where / "in" / "empty.fit").write_bytes(b"")
    (where / "in" / "noise.fit").write_bytes(random.Random(2).randbytes(3000))
    (where / "in" / "not_gzip.gpx.gz").write_bytes(b"<gpx/>")
    (where / "in" / "half.tcx.gz").write_bytes(_gz((FIXTURES / "tcx" / "run_fr620_3laps_hr.tcx").read_bytes())[:5000])
    add("only_corrupt", "import", str(where / "in"), "--db", str(where / "runs.duckdb"), "--json")
    where = folder("duplicates_json")
    add("duplicates_json", "runs", "--duplicates", "--json", "--db", str(_copy_db(base_db[0], where)))
    where = folder("split_ok")
    add("split_ok", "runs", "--split", GPX_TOMTOM, "--db", str(_copy_db(base_db[0], where)))
    where = folder("strava_zip")
    add(
        "strava_zip",
        "import",
        str(_strava_zip(where / "export_12345.zip")),
        "--db",
        str(where / "runs.duckdb"),
        "--json",
        env={"MYRUNSTREAK_STREAK_SPORTS": ",".join(ALL_ALLOWED_SPORTS)},
    )
    where = folder("default_zone")
    (where / "treadmill.tcx").write_bytes(_tcx_without_gps(datetime(2024, 6, 30, 20, 0, tzinfo=UTC), 1500, 5.0))
    add(
        "default_zone",
        "import",
        str(where / "treadmill.tcx"),
        "--db",
        str(where / "runs.duckdb"),
        env={"MYRUNSTREAK_TIMEZONE": "Pacific/Auckland"},
    )
    # two imports of the same folder into one new database at the same moment
    where = folder("race")
    (where / "in").mkdir()
    for name in RACE_FILES:
        shutil.copy(FIXTURES / name, where / "in")
    for name in ("race_a", "race_b"):
        cases[name] = (
            [MYRUNSTREAK, "import", str(where / "in"), "--db", str(where / "runs.duckdb"), "--json", "--workers", "1"],
            {},
        )

    processes = {
        name: subprocess.Popen(
            argv,
            env=_clean_env(DAGSTER_HOME=str(root / "dagster_home"), **env),
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (argv, env) in cases.items()
    }
    results = {}
    for name, process in processes.items():
        out, err = process.communicate(timeout=180)
        results[name] = (process.returncode, out, err, root / name)
    return results


USER_ERRORS = {
    "missing_path": "nope.fit: no such file or folder",
    "empty_folder": "no activity files found",
    "db_is_folder": "--db is a folder",
    "db_corrupt": "not a DuckDB database file",
    "workers_0": "argument --workers: not a number of processes from 1 to 64: '0'",
    "workers_-1": "argument --workers: not a number of processes from 1 to 64: '-1'",
    "workers_abc": "argument --workers: not a number of processes from 1 to 64: 'abc'",
    "workers_999": "argument --workers: not a number of processes from 1 to 64: '999'",
    "sports_cycling": "MYRUNSTREAK_STREAK_SPORTS",
    "runs_no_action": "one of the arguments --duplicates --split --unsplit is required",
    "split_unknown": "run file:0000000000000000 is not merged with another record",
    "unsplit_nothing": f"run {GPX_TOMTOM} was never split from another record",
    "split_missing_db": "database not found",
}


@pytest.mark.parametrize("case", sorted(USER_ERRORS))
def test_cli_user_errors_are_one_error_and_one_hint_line(cli, case):
    code, out, err, where = cli[case]
    assert code == 2, (out, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), err
    assert USER_ERRORS[case] in lines[0]
    assert out == ""
    if case in ("missing_path", "empty_folder", "split_missing_db", "sports_cycling"):
        assert not (where / "runs.duckdb").exists()  # refused before anything was created


def test_cli_user_errors_leave_the_database_as_it_was(cli, base_db):
    with DuckDBManager(base_db[0], read_only=True) as manager:
        expected = _snapshot(manager.connection)
    for case in ("split_unknown", "unsplit_nothing", "runs_no_action"):
        with DuckDBManager(cli[case][3] / "runs.duckdb", read_only=True) as manager:
            assert _snapshot(manager.connection) == expected, case
    assert (cli["db_corrupt"][3] / "runs.duckdb").read_bytes() == random.Random(1).randbytes(4096)


def test_cli_a_folder_of_only_corrupt_files_loads_nothing_and_quarantines_all(cli):
    code, out, err, where = cli["only_corrupt"]
    assert code == 0, err
    assert "Traceback" not in err
    summary = json.loads(out)
    assert {k: summary[k] for k in ("files", "imported", "already_known", "quarantined")} == {
        "files": 7,
        "imported": 0,
        "already_known": 0,
        "quarantined": 7,
    }
    reasons = {Path(name).name: reason for name, reason in summary["quarantine_reasons"]}
    assert reasons["empty.fit"] == "empty file"
    assert reasons["not_gzip.gpx.gz"] == "not gzip-compressed although the name ends in .gz"
    assert reasons["half.tcx.gz"].startswith("corrupt or truncated gzip data")
    assert reasons["run_strava_android_app_CORRUPT.fit"].startswith("corrupt FIT file")
    with DuckDBManager(where / "runs.duckdb", read_only=True) as manager:
        con = manager.connection
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM activity_files").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM quarantine WHERE payload_kind = 'file'").fetchone() == (7,)


def test_cli_runs_duplicates_json(cli):
    code, out, err, _ = cli["duplicates_json"]
    assert code == 0, err
    listing = json.loads(out)
    assert listing["splits"] == []
    [row] = listing["duplicates"]
    assert (row["activity_id"], row["source"], row["kept_activity_id"], row["kept_source"]) == (
        GPX_TOMTOM,
        "gpx",
        TCX_TOMTOM,
        "tcx",
    )
    assert row["start_gap_seconds"] == 0.0 and 0 < row["distance_gap_percent"] < 1
    assert row["start_local"].startswith("2017-05-27T09:13:01")  # BST, from the first GPS fix
    datetime.fromisoformat(row["decided_at"])


def test_cli_split(cli):
    code, out, err, where = cli["split_ok"]
    assert code == 0, err
    assert out.strip() == f"split: {TCX_TOMTOM} and {GPX_TOMTOM}"
    with DuckDBManager(where / "runs.duckdb", read_only=True) as manager:
        assert manager.connection.execute("SELECT count(*) FROM run_duplicates").fetchone() == (0,)
        assert {TCX_TOMTOM, GPX_TOMTOM} <= _counted(manager.connection)


def test_cli_strava_export_zip(cli):
    code, out, err, where = cli["strava_zip"]
    assert code == 0, err
    summary = json.loads(out)
    assert {k: summary[k] for k in ("files", "imported", "already_known", "not_counted", "quarantined")} == {
        "files": 3,
        "imported": 3,
        "already_known": 0,
        "not_counted": 1,  # the run file the runner filed as a ride
        "quarantined": 0,
    }
    with DuckDBManager(where / "runs.duckdb", read_only=True) as manager:
        con = manager.connection
        rows = con.execute(
            "SELECT f.activity_id, f.file_format, f.file_name, f.title, f.sport, f.sport_raw, r.activity_type "
            "FROM activity_files AS f JOIN runs AS r USING (activity_id) ORDER BY f.file_name"
        ).fetchall()
        zip_name = str(where / "export_12345.zip")
        assert rows == [
            (
                FR645M_FIT,
                "fit",
                f"{zip_name}!activities/1001.fit.gz",
                "Commute, on the bike",
                "cycling",
                "Ride",
                "cycling",
            ),
            (GARMIN_GPX, "gpx", f"{zip_name}!activities/1002.gpx.gz", "Morning Run ☀", "running", "Run", "running"),
            (FR410_TCX, "tcx", f"{zip_name}!activities/1003.tcx.gz", "Track, 3 laps", "running", "Run", "running"),
        ]
        assert _counted(con) == {GARMIN_GPX, FR410_TCX}
    # even with every allowed sport stored in the rule, the run filed as a ride stays out
    with DuckDBManager(where / "runs.duckdb") as manager:
        set_streak_rule(manager.connection, 1.609344, "sum", None, ALL_ALLOWED_SPORTS)
        assert FR645M_FIT not in _counted(manager.connection)


def test_cli_default_zone_from_the_environment(cli):
    code, out, err, where = cli["default_zone"]
    assert code == 0, err
    assert out.startswith("1 files: 1 imported, 0 already known")
    with DuckDBManager(where / "runs.duckdb", read_only=True) as manager:
        row = manager.connection.execute(
            "SELECT r.start_date, f.zone_source, f.time_zone "
            "FROM runs AS r JOIN activity_files AS f USING (activity_id)"
        ).fetchone()
    assert row == (date(2024, 7, 1), "default", "Pacific/Auckland")


def test_cli_two_imports_at_once_into_one_database(cli):
    importable = len(RACE_FILES) - 1
    results = [cli[name] for name in ("race_a", "race_b")]
    imported = 0
    for code, out, err, _ in results:
        assert "Traceback" not in err
        if code == 2:
            lines = [line for line in err.strip().splitlines() if not line.startswith("[")]
            assert len(lines) == 2 and "in use" in lines[0] and lines[1].startswith("hint: "), err
            assert out == ""
        else:
            assert code == 0, err
            summary = json.loads(out)
            assert summary["imported"] + summary["already_known"] == importable
            assert summary["quarantined"] == 1
            imported += summary["imported"]
    assert any(code == 0 for code, *_ in results)
    assert imported == importable  # each file stored by exactly one of them
    with DuckDBManager(cli["race_a"][3].parent / "race" / "runs.duckdb", read_only=True) as manager:
        con = manager.connection
        assert con.execute("SELECT count(*), count(DISTINCT content_sha256) FROM activity_files").fetchone() == (
            importable,
            importable,
        )
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (importable,)
        assert [(d[0], d[1]) for d in _decisions(con)] == [(GPX_TOMTOM, TCX_TOMTOM)]
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (1,)


# ------------------------------------------------------------------------------------------ hostile files


def test_a_file_failing_validation_is_quarantined_by_name_and_hash_not_by_its_track(tmp_path):
    folder = tmp_path / "hostile"
    folder.mkdir()
    # a GPX "run" of 5,000 km (teleporting points) and one dated 1850: readable, but not a plausible run
    (folder / "teleport.gpx").write_bytes(_gpx(datetime(2020, 1, 1, 7, tzinfo=UTC), 600, 5000.0, lat=1.0, lon=0.0))
    (folder / "victorian.gpx").write_bytes(_gpx(datetime(1850, 1, 1, 7, tzinfo=UTC), 600, 2.0, lat=51.5, lon=0.0))
    shutil.copy(FIXTURES / "tcx" / "run_fr620_3laps_hr.tcx", folder)
    with DuckDBManager(tmp_path / "runs.duckdb") as manager:
        con = manager.connection
        summary = _import(con, folder)
        assert summary.imported == 1
        reasons = {Path(name).name: reason for name, reason in summary.quarantined}
        assert reasons == {
            "teleport.gpx": "distance: Input should be less than or equal to 2000",
            "victorian.gpx": "startDateTimeLocal: Value error, year must be between 1900 and 2100",
        }
        rows = con.execute("SELECT activity_id, payload, reason FROM quarantine ORDER BY reason").fetchall()
        assert len(rows) == 2
        for activity_id, payload, _reason in rows:
            described = json.loads(payload)
            assert set(described) == {"file_name", "content_sha256"}
            assert activity_id == f"file:{described['content_sha256'][:16]}"
            assert "recordingValues" not in payload and len(payload) < 300
        assert con.execute("SELECT count(*) FROM activity_files").fetchone() == (1,)
        # importing them again tries again (no row in activity_files) and adds nothing
        before = _snapshot(con)
        again = _import(con, folder)
        assert (again.imported, again.known, len(again.quarantined)) == (0, 1, 2)
        assert _snapshot(con) == before


def test_summary_never_prints_control_characters_from_file_names():
    from myrunstreak_pipeline.cli.import_files import format_summary
    from myrunstreak_pipeline.imports import ImportSummary

    summary = ImportSummary(files=1, quarantined=[("export.zip!\x1b[2J\x1b]0;pwned\x07evil.fit", "empty file")])
    text = format_summary(summary)
    assert "\x1b" not in text and "\x07" not in text
    assert "quarantined export.zip!\\x1b[2J\\x1b]0;pwned\\x07evil.fit: empty file" in text
