"""Activity files (FIT, GPX, TCX, .gz) against the figures the devices recorded, plus the edge cases.

Real files only for the figures: ``fixtures/activity_files/`` (origins and licences in its SOURCES.md). The
expected values are SOURCES.md's: start instant (UTC), elapsed h:mm:ss (rounded to the second), km (rounded to
10 m), and the local offset where the file states one.
"""

from __future__ import annotations

import gzip
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.files import ActivityFileError, FileActivity, read_activity_file
from myrunstreak_pipeline.models import Activity

FIXTURES = Path(__file__).parent / "fixtures" / "activity_files"

# file, sport, start UTC, offset hours stated by the file (None: none stated), elapsed, km
REAL = [
    ("fit/run_fr110_laps_hr.fit", "running", "2013-02-06T12:11:14", None, "0:43:45", 4.83),
    ("fit/run_fenix2_laps_hr.fit", "running", "2015-08-15T14:45:08", 2, "0:47:12", 9.01),
    ("fit/run_fr920xt_2h24_pauses_laps.fit", "running", "2019-05-18T14:11:39", -6, "2:23:49", 16.77),
    ("fit/run_fenix5xplus_1h54_pauses.fit", "running", "2018-10-20T14:46:25", -7, "1:53:42", 18.66),
    ("fit/run_fenix5x_devfields_laps.fit", "running", "2018-06-14T14:55:22", 2, "0:28:01", 5.38),
    ("fit/run_fr645m_laps_hr.fit", "running", "2019-09-14T15:22:05", 2, "0:52:45", 5.84),
    ("fit/run_vivoactivehr_laps_hr.fit", "running", "2023-01-12T09:32:32", 1, "0:31:09", 4.84),
    ("fit/run_fenix5_57s_tiny.fit", "running", "2017-06-11T14:34:09", -7, "0:00:57", 0.16),
    ("fit/walk_fenix5_45s.fit", "walking", "2017-06-11T14:32:51", -7, "0:00:45", 0.07),
    ("fit/ride_coros_pace2_3h32.fit", "cycling", "2020-10-25T11:10:19", 0, "3:31:59", 32.15),
    ("gpx/run_garmin_connect_hr_1h32.gpx", "running", "2017-07-29T14:46:35", None, "1:31:38", 12.84),
    ("gpx/run_strava_android_hr.gpx", "running", "2017-03-19T16:49:30", None, "0:32:38", 4.59),
    ("gpx/run_tomtom_2segments.gpx", "running", "2017-05-27T08:13:01", None, "0:23:43", 4.81),
    ("gpx/run_applewatch_3segments_hr_trimmed.gpx", "running", "2025-05-02T15:51:15", None, "0:42:49", 0.09),
    ("gpx/run_nrc_forgot_stop_24h_crosses_midnight.gpx", "unknown", "2021-01-17T10:23:22", None, "23:57:29", 21.76),
    ("tcx/run_fr410_3laps_hr.tcx", "running", "2012-12-26T21:29:53", None, "0:33:11", 4.69),
    ("tcx/run_fr620_3laps_hr.tcx", "running", "2018-11-25T07:20:49", None, "0:13:43", 2.15),
    ("tcx/run_strava_export_hr.tcx", "running", "2016-09-11T15:57:36", None, "1:07:50", 6.11),
    ("tcx/run_tomtom.tcx", "running", "2017-05-27T08:13:01", None, "0:23:43", 4.83),
]
CORRUPT = [
    ("fit/run_strava_android_app_CORRUPT.fit", "corrupt FIT file"),
    ("fit/corrupt_sdk_activity_unexpected_eof.fit", "truncated FIT file"),
]
MULTISPORT = "fit/multisport_fenix2_triathlon_3h15.fit"


def _seconds(text: str) -> int:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def _read(relative: str, **kwargs) -> FileActivity:
    return read_activity_file(FIXTURES / relative, **kwargs)


def _close_km(actual: float, expected: float) -> bool:
    # within 1 %, or within SOURCES.md's rounding to 10 m for the sub-200 m files
    return abs(actual - expected) <= max(0.01 * expected, 0.005)


@pytest.mark.parametrize(("relative", "sport", "start", "offset_h", "elapsed", "km"), REAL, ids=[r[0] for r in REAL])
def test_real_files_match_the_device_figures(relative, sport, start, offset_h, elapsed, km):
    activity = _read(relative)
    assert activity.source == relative.split("/")[0]
    assert activity.sport == sport
    assert activity.start_utc.replace(microsecond=0) == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert _close_km(activity.distance_km, km), activity.distance_km
    assert abs(activity.elapsed_seconds - _seconds(elapsed)) <= 1.0, activity.elapsed_seconds
    assert 0 < activity.moving_seconds <= activity.elapsed_seconds + 1e-6
    if offset_h is not None:
        assert activity.zone_source == "file"
        assert activity.start_local.utcoffset() == timedelta(hours=offset_h)
    else:  # every one of these has GPS: the zone comes from the first fix
        assert activity.zone_source == "gps" and activity.zone_name
    assert activity.start_local == activity.start_utc
    assert activity.local_date == activity.start_local.date()
    assert len(activity.content_sha256) == 64


@pytest.mark.parametrize("relative", [r[0] for r in REAL] + [MULTISPORT])
def test_every_real_file_becomes_a_valid_smashrun_payload(relative):
    activity = _read(relative)
    payload = activity.to_payload()
    model = Activity.model_validate(payload)
    assert model.activity_id == activity.activity_id == f"file:{activity.content_sha256[:16]}"
    assert model.start_date_time_local == activity.start_local
    assert model.local_date == activity.local_date
    assert model.duration_seconds == pytest.approx(activity.moving_seconds, abs=0.001)
    assert len(set(map(len, payload["recordingValues"]))) == 1 and "clock" in payload["recordingKeys"]
    if activity.laps:
        ends = [lap.end_distance_km for lap in model.laps]
        assert ends == sorted(ends) and _close_km(ends[-1], activity.distance_km)


def test_laps_heart_rate_and_gps_where_the_device_recorded_them():
    fr920 = _read("fit/run_fr920xt_2h24_pauses_laps.fit")
    assert len(fr920.laps) == 11 and fr920.heart_rate_avg == 147 and fr920.heart_rate_max == 173
    assert fr920.start_lat == pytest.approx(39.68, abs=0.01) and fr920.cadence_avg == pytest.approx(165, abs=1)
    assert set(fr920.recording_keys) >= {"clock", "distance", "latitude", "longitude", "heartRate", "cadence"}
    fr410 = _read("tcx/run_fr410_3laps_hr.tcx")
    assert len(fr410.laps) == 3 and fr410.laps[0][1] == pytest.approx(1.609, abs=0.001)
    tomtom = _read("tcx/run_tomtom.tcx")
    assert tomtom.heart_rate_avg is None and "heartRate" not in tomtom.recording_keys


def test_pauses_are_taken_off_the_moving_time():
    # FIT: the timer (18 stop/starts, 1773 s paused); GPX/TCX: gaps over 60 s
    assert _read("fit/run_fr920xt_2h24_pauses_laps.fit").moving_seconds == pytest.approx(8629.415 - 1773, abs=2)
    assert _read("fit/run_fenix5xplus_1h54_pauses.fit").moving_seconds == pytest.approx(6821.5 - 224, abs=2)
    apple = _read("gpx/run_applewatch_3segments_hr_trimmed.gpx")
    assert apple.moving_seconds == pytest.approx(apple.elapsed_seconds - 2534, abs=2) and apple.pause_indexes
    assert _read("tcx/run_strava_export_hr.tcx").moving_seconds == pytest.approx(4070 - 105, abs=1)
    nrc = _read("gpx/run_nrc_forgot_stop_24h_crosses_midnight.gpx")
    assert nrc.moving_seconds == pytest.approx(nrc.elapsed_seconds - 80876, abs=2)
    assert _read("fit/run_fenix2_laps_hr.fit").moving_seconds == pytest.approx(2832.0)


@pytest.mark.parametrize(("relative", "reason"), CORRUPT)
def test_corrupt_and_truncated_files_are_quarantined_with_a_reason(relative, reason):
    with pytest.raises(ActivityFileError) as caught:
        _read(relative)
    error = caught.value
    assert isinstance(error, MyRunStreakError) and error.reason.startswith(reason)
    assert error.name == Path(relative).name and error.reason.isprintable() and len(error.reason) < 200


def test_a_bad_file_does_not_stop_the_rest():
    loaded, quarantined = [], {}
    for path in sorted((FIXTURES / "fit").glob("*.fit")):
        try:
            loaded.append(read_activity_file(path))
        except ActivityFileError as error:
            quarantined[path.name] = error.reason
    assert set(quarantined) == {Path(relative).name for relative, _ in CORRUPT}
    assert len(loaded) == 11


def test_rides_never_count_and_walks_only_when_configured():
    ride = _read("fit/ride_coros_pace2_3h32.fit")
    assert ride.sport == "cycling" and ride.sport_raw == "cycling"
    assert not ride.counts_for_streak() and not ride.counts_for_streak({"running", "cycling"})
    assert ride.moving_seconds == pytest.approx(11287.0)  # 5 timer pauses, 1432 s
    walk = _read("fit/walk_fenix5_45s.fit")
    assert not walk.counts_for_streak() and walk.counts_for_streak({"running", "walking", "hiking"})
    assert _read("fit/run_fr645m_laps_hr.fit").counts_for_streak()
    strava = _read("gpx/run_strava_android_hr.gpx")  # Strava's numeric <type>9</type>
    assert strava.sport == "running" and strava.sport_raw == "9"


def test_multisport_counts_its_running_legs_and_keeps_every_session():
    activity = _read(MULTISPORT)
    first = activity.sessions[0]  # SOURCES.md's figures are the file's first session (sport generic)
    assert first.sport_raw == "generic" and first.start_utc == datetime(2015, 8, 29, 8, 0, 1, tzinfo=UTC)
    assert abs(first.elapsed_seconds - _seconds("3:15:38")) <= 1 and _close_km(first.distance_km, 25.07)
    assert [s.sport_raw for s in activity.sessions] == [
        "generic", "transition", "running", "transition", "running", "transition", "cycling"
    ]  # fmt: skip
    running = [s for s in activity.sessions if s.sport_raw == "running"]
    assert activity.sport == "running" and activity.counts_for_streak()
    assert activity.distance_km == pytest.approx(sum(s.distance_km for s in running))
    assert activity.elapsed_seconds == pytest.approx(sum(s.elapsed_seconds for s in running))
    assert activity.start_utc == running[0].start_utc and activity.start_local.utcoffset() == timedelta(hours=2)
    distance = [v for v in activity.series("distance") if v is not None]
    assert distance == sorted(distance) and distance[-1] == pytest.approx(activity.distance_km, rel=0.01)


def test_the_24h_nrc_run_across_midnight_counts_for_its_start_day_in_the_gps_zone():
    activity = _read("gpx/run_nrc_forgot_stop_24h_crosses_midnight.gpx")
    assert activity.zone_source == "gps" and activity.zone_name == "America/Recife"  # UTC-3, no DST
    assert activity.start_local.isoformat().startswith("2021-01-17T07:23:22")
    end_local = activity.start_local + timedelta(seconds=activity.elapsed_seconds)
    assert end_local.date() == date(2021, 1, 18) and activity.local_date == date(2021, 1, 17)
    assert activity.sport == "unknown" and activity.counts_for_streak()
    assert not activity.counts_for_streak({"running"})


def test_a_route_without_timestamps_is_a_clear_error():
    with pytest.raises(ActivityFileError, match="no timestamps"):
        _read("gpx/route_strava_run_no_timestamps.gpx")


def _gpx(points: str, sport: str = "running") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="hand" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><type>'
        + sport
        + "</type><trkseg>"
        + points
        + "</trkseg></trk></gpx>"
    ).encode()


def test_no_gps_and_no_zone_falls_back_to_the_default_zone():
    # a hand-written GPX: times in UTC (Z, no local hint), positions (0, 0) = the apps' "no fix" placeholder
    points = "".join(f'<trkpt lat="0" lon="0"><time>2024-03-09T20:{m:02d}:00Z</time></trkpt>' for m in (30, 45))
    activity = read_activity_file(_gpx(points), "treadmill.gpx", default_zone="Asia/Tokyo")
    assert activity.zone_source == "default" and activity.zone_name == "Asia/Tokyo"
    assert activity.start_local.isoformat() == "2024-03-10T05:30:00+09:00" and activity.local_date == date(2024, 3, 10)
    assert activity.start_lat is None and activity.to_payload()["hasDetailsGPS"] == 0
    assert read_activity_file(_gpx(points), "t.gpx").local_date == date(2024, 3, 9)  # default zone UTC
    untimed = _gpx("<trkpt lat='1' lon='1'/>")
    with pytest.raises(ActivityFileError, match="no timestamps"):
        read_activity_file(untimed, "x.gpx")


def test_a_tcx_without_gps_is_dated_in_the_default_zone():
    points = "".join(
        f"<Trackpoint><Time>2024-03-09T20:{m:02d}:00Z</Time><DistanceMeters>{d}</DistanceMeters></Trackpoint>"
        for m, d in ((30, 0), (40, 1800), (50, 3600))
    )
    data = (
        '<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2">'
        '<Activities><Activity Sport="Running"><Id>2024-03-09T20:30:00Z</Id><Lap StartTime="2024-03-09T20:30:00Z">'
        "<TotalTimeSeconds>1200</TotalTimeSeconds><DistanceMeters>3600</DistanceMeters><Track>"
        + points
        + "</Track></Lap></Activity></Activities></TrainingCenterDatabase>"
    ).encode()
    activity = read_activity_file(data, "treadmill.tcx", default_zone="Asia/Tokyo")
    assert activity.zone_source == "default" and activity.zone_name == "Asia/Tokyo"
    assert activity.start_lat is None and activity.local_date == date(2024, 3, 10)
    assert activity.distance_km == pytest.approx(3.6) and activity.elapsed_seconds == 1200
    Activity.model_validate(activity.to_payload())


def test_a_run_across_local_midnight_counts_for_its_start_date_with_the_files_offset():
    times = ["2024-12-31T23:50:00+02:00", "2025-01-01T00:05:00+02:00", "2025-01-01T00:20:00+02:00"]
    lats = [60.1699, 60.1750, 60.1800]
    data = _gpx("".join(f'<trkpt lat="{la}" lon="24.9384"><time>{t}</time></trkpt>' for la, t in zip(lats, times)))
    activity = read_activity_file(data, "nye.gpx", default_zone="UTC")
    assert activity.zone_source == "file" and activity.start_local.utcoffset() == timedelta(hours=2)
    assert activity.start_utc == datetime(2024, 12, 31, 21, 50, tzinfo=UTC)
    assert activity.local_date == date(2024, 12, 31) and activity.elapsed_seconds == 1800
    assert Activity.model_validate(activity.to_payload()).local_date == date(2024, 12, 31)


@pytest.mark.parametrize(
    "relative", ["fit/run_fr645m_laps_hr.fit", "gpx/run_tomtom_2segments.gpx", "tcx/run_tomtom.tcx"]
)
def test_a_gz_file_parses_identically(tmp_path, relative):
    plain = FIXTURES / relative
    packed = tmp_path / (plain.name + ".gz")
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = read_activity_file(plain), read_activity_file(packed)
    c = read_activity_file(packed.read_bytes(), packed.name.upper())
    assert a.content_sha256 == b.content_sha256 == c.content_sha256
    assert a.to_payload() == b.to_payload() == c.to_payload() and a.local_date == b.local_date


def test_the_same_run_as_gpx_and_tcx_agrees():
    gpx, tcx = _read("gpx/run_tomtom_2segments.gpx"), _read("tcx/run_tomtom.tcx")
    assert gpx.start_utc == tcx.start_utc and gpx.local_date == tcx.local_date
    assert gpx.distance_km == pytest.approx(tcx.distance_km, rel=0.01)
    assert gpx.content_sha256 != tcx.content_sha256


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "empty.fit", "empty file"),
        (random.Random(7).randbytes(4096), "noise.fit", "not a FIT file"),
        (b"<gpx><trk><trkseg><trkpt", "cut.gpx", "corrupt GPX file"),
        (b"<TrainingCenterDatabase><Activities>", "cut.tcx", "corrupt TCX file"),
        (b"PK\x03\x04 zip", "export.zip", "unsupported file type"),
        (b"not gzip at all", "run.fit.gz", "not gzip-compressed"),
        (gzip.compress(b"x" * 1000)[:20], "run.gpx.gz", "corrupt or truncated gzip"),
        (gzip.compress(b""), "run.tcx.gz", "empty file"),
    ],
    ids=["empty", "random-bytes", "cut-gpx", "cut-tcx", "zip", "not-gzip", "cut-gzip", "empty-gzip"],
)
def test_unusable_bytes_are_an_activity_file_error(data, name, reason):
    with pytest.raises(ActivityFileError) as caught:
        read_activity_file(data, name)
    assert caught.value.reason.startswith(reason), caught.value.reason
    assert caught.value.reason.isprintable() and "x" * 10 not in caught.value.reason


def test_truncating_a_real_fit_file_anywhere_is_quarantined():
    data = (FIXTURES / "fit/run_fenix5_57s_tiny.fit").read_bytes()
    for cut in range(0, len(data), 97):
        with pytest.raises(ActivityFileError):
            read_activity_file(data[:cut], "cut.fit")


def test_a_flipped_bit_is_caught_by_the_file_crc():
    data = bytearray((FIXTURES / "fit/run_fr645m_laps_hr.fit").read_bytes())
    data[len(data) // 2] ^= 0x01  # inside a record's values: the structure still decodes
    with pytest.raises(ActivityFileError, match="corrupt FIT file"):
        read_activity_file(bytes(data), "flipped.fit")


def test_a_path_that_cannot_be_read_and_an_unknown_default_zone(tmp_path):
    with pytest.raises(ActivityFileError, match="cannot read"):
        read_activity_file(tmp_path / "missing.fit")
    with pytest.raises(ActivityFileError, match="unknown default time zone"):
        read_activity_file(
            _gpx('<trkpt lat="0" lon="0"><time>2024-01-01T00:00:00Z</time></trkpt>'), "a.gpx", default_zone="Mars/Base"
        )
