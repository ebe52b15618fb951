"""The GPX reader (standard-library XML + gpxpy's geometry) against gpxpy's own parser, the reference: the same
track, field for field, on every real GPX fixture and on constructed edge cases (GPX 1.0, namespaces, segments,
points without time, offsets, extensions); and hostile XML refused or quarantined, never expanded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import gpxpy
import gpxpy.gpx
import pytest

from myrunstreak_pipeline.files import ActivityFileError, read_activity_file
from myrunstreak_pipeline.files.gpx import parse_gpx
from myrunstreak_pipeline.files.normalise import FOOT_SPORTS, Track, normalise_sport
from myrunstreak_pipeline.files.zones import stated_offset

FIXTURES = Path(__file__).parent / "fixtures" / "activity_files" / "gpx"


# ---- the reference: the gpxpy-based reader this project used first (gpxpy 1.6.2's parser and length_2d)
def _ref_extension_values(point: gpxpy.gpx.GPXTrackPoint) -> tuple[float | None, float | None]:
    hr = cad = None
    for extension in point.extensions:
        for element in extension.iter():
            tag = element.tag.rsplit("}", 1)[-1].lower()
            if tag in ("hr", "heartrate", "cad", "cadence") and element.text:
                try:
                    value = float(element.text)
                except ValueError:
                    continue
                if tag.startswith("h"):
                    hr = value
                else:
                    cad = value
    return hr, cad


def _ref_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _ref_sport(gpx: gpxpy.gpx.GPX) -> str | None:
    for track in gpx.tracks:
        if track.type:
            return track.type.strip()
    for track in gpx.tracks:  # TomTom writes no <type> but names the track "Running"
        if track.name and normalise_sport(track.name) not in ("other", "unknown"):
            return track.name.strip()
    return None


def reference_parse_gpx(data: bytes, name: str) -> Track:
    try:
        gpx = gpxpy.parse(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ActivityFileError("corrupt GPX file (not UTF-8 text)", name=name) from None
    except Exception as exc:  # gpxpy wraps XML errors in several types; its messages may quote the file
        raise ActivityFileError(f"corrupt GPX file ({type(exc).__name__})", name=name) from None
    sport = _ref_sport(gpx)
    foot = normalise_sport(sport) in FOOT_SPORTS
    times, lats, lons, eles, hrs, cads, dists = [], [], [], [], [], [], []
    segment_starts: set[int] = set()
    total_m = 0.0
    for track in gpx.tracks:
        for segment in track.segments:
            previous = None
            first_in_segment = True
            for point in segment.points:
                if previous is not None:
                    total_m += point.distance_2d(previous) or 0.0
                previous = point
                if point.time is None:
                    continue
                if first_in_segment and times:
                    segment_starts.add(len(times))
                first_in_segment = False
                hr, cad = _ref_extension_values(point)
                times.append(point.time)
                lats.append(point.latitude)
                lons.append(point.longitude)
                eles.append(point.elevation)
                hrs.append(hr)
                cads.append(cad * 2 if cad is not None and foot else cad)
                dists.append(total_m / 1000.0)
    if not times:
        if gpx.routes or gpx.tracks:
            raise ActivityFileError("no timestamps: a planned route, not a recorded activity", name=name)
        raise ActivityFileError("no track points: not a recorded activity", name=name)
    start = _ref_utc(times[0])
    offset = times[0].utcoffset()
    return Track(
        source="gpx",
        sport_raw=sport,
        start_utc=start,
        elapsed_seconds=(_ref_utc(times[-1]) - start).total_seconds(),
        distance_km=gpx.length_2d() / 1000.0,
        file_offset=stated_offset(offset.total_seconds()) if offset else None,
        samples={
            "clock": [(_ref_utc(t) - start).total_seconds() for t in times],
            "distance": dists,
            "latitude": lats,
            "longitude": lons,
            "elevation": eles,
            "heartRate": hrs,
            "cadence": cads,
        },
        segment_starts=segment_starts,
        device=(gpx.creator or "").strip()[:64] or None,
    )


def _same(data: bytes, name: str) -> Track:
    ours = parse_gpx(data, name)
    reference = reference_parse_gpx(data, name)
    assert ours == reference
    return ours


@pytest.mark.parametrize("path", sorted(p.name for p in FIXTURES.glob("run_*.gpx")))
def test_every_real_gpx_reads_exactly_as_gpxpy_reads_it(path):
    track = _same((FIXTURES / path).read_bytes(), path)
    assert track.samples["clock"] and track.distance_km > 0


def _document(body: str, *, root: str = '<gpx version="1.1" creator=" Hand ">', declaration: bool = True) -> bytes:
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if declaration else ""
    return (head + root + body + "</gpx>").encode()


NS11 = '<gpx version="1.1" creator="x" xmlns="http://www.topografix.com/GPX/1/1" xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
NS10 = '<gpx version="1.0" creator="x" xmlns="http://www.topografix.com/GPX/1/0">'
PLAIN = (  # no namespaces at all; extensions as bare elements
    '<trkpt lat="40.7" lon="-74"><time>2024-07-01T06:00:00-04:00</time><extensions><hr>150</hr>'
    "<cadence>90</cadence></extensions></trkpt>"
    '<trkpt lat="40.701" lon="-74"><time>2024-07-01T06:01:00-04:00</time></trkpt>'
)
POINTS = (
    '<trkpt lat="51.5" lon="-0.12"><ele>10.5</ele><time>2024-03-09T23:58:00+01:00</time>'
    "<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>141</gpxtpx:hr><gpxtpx:cad>84</gpxtpx:cad>"
    "</gpxtpx:TrackPointExtension></extensions></trkpt>"
    '<trkpt lat="51.5009" lon="-0.1201"/>'
    '<trkpt lat="51.501" lon="-0.1203"><time>2024-03-09T23:59:30.250+01:00</time></trkpt>'
)


@pytest.mark.parametrize(
    "data",
    [
        _document(f"<trk><type>running</type><trkseg>{POINTS}</trkseg><trkseg>{POINTS}</trkseg></trk>", root=NS11),
        _document(f"<trk><name>Morning Run</name><trkseg>{PLAIN}</trkseg></trk><trk><trkseg>{PLAIN}</trkseg></trk>"),
        _document(
            '<trk><trkseg><trkpt lat="-33.9" lon="151.2"><time>2020-06-01T06:00:00</time></trkpt>'
            '<trkpt lat="-33.91" lon="151.2"><time>2020-06-01T06:10:00</time></trkpt></trkseg></trk>',
            declaration=False,
        ),
        _document(
            '<trk><type>Ride</type><trkseg><trkpt lat="10" lon="10"><time>2021-02-03T04:05:06.789Z</time></trkpt>'
            "</trkseg></trk>"
        ),
    ],
    ids=[
        "gpx11-namespaces-extensions-2-segments",
        "no-namespace-2-tracks-named",
        "naive-times",
        "ride-one-point",
    ],
)
def test_constructed_gpx_reads_exactly_as_gpxpy_reads_it(data):
    _same(data, "constructed.gpx")


def test_gpx_10_reads_as_gpxpy_reads_it_and_its_type_too():
    """GPX 1.0's schema has no <trk><type>, so gpxpy drops it; writers put it there anyway (Strava's 9 = Run)."""
    data = _document(
        '<trk><type>9</type><trkseg><trkpt lat="1" lon="2"><time>2020-01-01T10:00:00Z</time></trkpt>'
        '<trkpt lat="1.001" lon="2"><time>2020-01-01T10:05:00Z</time></trkpt></trkseg></trk>',
        root=NS10,
    )
    ours, reference = parse_gpx(data, "old.gpx"), reference_parse_gpx(data, "old.gpx")
    assert reference.sport_raw is None and ours.sport_raw == "9"
    ours.sport_raw = None
    assert ours == reference


def test_the_offset_and_the_local_date_come_from_the_file():
    body = f"<trk><type>running</type><trkseg>{POINTS}</trkseg></trk>"
    activity = read_activity_file(_document(body, root=NS11), "late.gpx")
    assert activity.start_utc == datetime(2024, 3, 9, 22, 58, tzinfo=UTC)
    assert activity.zone_source == "file" and str(activity.local_date) == "2024-03-09"
    assert activity.heart_rate_avg == 141 and activity.cadence_avg == 168  # strides doubled to steps


@pytest.mark.parametrize(
    "data, reason",
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<gpx><trk><name>&b;</name></trk></gpx>",
            "document type declaration",
        ),
        (b'<gpx><trk><trkseg><trkpt lat="x" lon="1"><time>2020-01-01T00:00:00Z</time></trkpt>', "not well-formed"),
        (_document('<trk><trkseg><trkpt lat="north" lon="1"/></trkseg></trk>'), "latitude"),
        (_document('<trk><trkseg><trkpt lat="1" lon="1"><time>yesterday</time></trkpt></trkseg></trk>'), "ISO 8601"),
        (_document('<trk><trkseg><trkpt lon="1"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk>'), "lat/lon"),
        (b'<?xml version="1.0"?><kml><Document/></kml>', "no <gpx> root"),
        (_document(""), "no track points"),
    ],
    ids=["billion-laughs", "cut", "bad-latitude", "bad-time", "no-lat", "kml", "empty"],
)
def test_hostile_or_broken_gpx_is_refused_with_a_reason(data, reason):
    with pytest.raises(ActivityFileError) as error:
        read_activity_file(data, "bad.gpx")
    assert reason in error.value.reason
