"""GPX tracks (Garmin Connect, Strava, Apple Watch, TomTom, Nike Run Club exports).

Read with the standard library's XML parser (the GPX 1.0/1.1 elements, whatever their namespace: ``trk``/``type``
/``name``, ``trkseg``, ``trkpt`` with ``lat``/``lon``, ``time``, ``ele``, and heart rate and cadence inside
``extensions``); distances with gpxpy's geometry (``gpxpy.geo.distance``, what gpxpy's ``length_2d`` sums within
segments, never across a segment break). gpxpy's own parser is the reference: it reads every real fixture to the
identical track (test_activity_files.py) but took ~40 ms per 1,000-point file against ~12 ms here, which alone would
make ten years of daily GPX miss the one-minute import target on two cores (benchmarks/import_files.py).

Elapsed time is first to last timestamp; pauses (sample gaps over ``PAUSE_GAP_SECONDS`` and segment breaks) come
off it for the moving time. A GPX without any ``<time>`` is a planned route, not a recording: ``ActivityFileError``.
A document type declaration (entities: the "billion laughs" attack) is refused; no GPX needs one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from gpxpy.geo import distance

from myrunstreak_pipeline.files.errors import ActivityFileError
from myrunstreak_pipeline.files.normalise import FOOT_SPORTS, Track, normalise_sport
from myrunstreak_pipeline.files.zones import stated_offset

_HEART_RATE_TAGS = ("hr", "heartrate")
_CADENCE_TAGS = ("cad", "cadence")


_LOCAL_NAMES: dict[object, str] = {}  # "{namespace}name" -> "name": a file has a handful of distinct tags


def _local(tag: object) -> str:
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
        if len(_LOCAL_NAMES) < 10_000:  # bounded: a hostile file could invent any number of tags
            _LOCAL_NAMES[tag] = name
    return name


def _text(element: ET.Element, tag: str) -> str | None:
    text = element.findtext(tag)
    return text.strip() or None if text else None


def _extension_values(extensions: list[ET.Element]) -> tuple[float | None, float | None]:
    """Heart rate and cadence from a point's <extensions> (any vendor namespace; Apple Watch writes two)."""
    hr = cad = None
    for extension in extensions:
        for element in extension.iter():
            tag = _local(element.tag).lower()
            if tag in _HEART_RATE_TAGS or tag in _CADENCE_TAGS:
                try:
                    value = float(element.text)
                except (TypeError, ValueError):
                    continue
                if tag in _HEART_RATE_TAGS:
                    hr = value
                else:
                    cad = value
    return hr, cad


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sport(tracks: list[ET.Element], ns: str) -> str | None:
    for track in tracks:
        if kind := _text(track, ns + "type"):
            return kind
    for track in tracks:  # TomTom writes no <type> but names the track "Running"
        name = _text(track, ns + "name")
        if name and normalise_sport(name) not in ("other", "unknown"):
            return name
    return None


def _root(data: bytes, name: str) -> ET.Element:
    # Entities can only be declared in a document type declaration, which comes before the root element.
    prolog = data[: data.find(b"<gpx") if b"<gpx" in data[:65536] else 65536].lower()
    if b"<!doctype" in prolog or b"<!entity" in prolog:
        raise ActivityFileError("refused: a GPX file with a document type declaration (entities)", name=name)
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        raise ActivityFileError("corrupt GPX file (not well-formed XML)", name=name) from None
    if _local(root.tag) != "gpx":
        raise ActivityFileError("not a GPX file (no <gpx> root element)", name=name)
    return root


def _float(text: str | None, name: str, what: str) -> float | None:
    text = text.strip() if text else None
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ActivityFileError(f"corrupt GPX file (a {what} that is not a number)", name=name) from None


def _time(text: str | None, name: str) -> datetime | None:
    text = text.strip() if text else None
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ActivityFileError("corrupt GPX file (a <time> that is not an ISO 8601 time)", name=name) from None


def parse_gpx(data: bytes, name: str) -> Track:
    root = _root(data, name)
    ns = root.tag[: -len("gpx")]  # "{http://www.topografix.com/GPX/1/1}" (or 1/0), or "" without a namespace
    trkseg, trkpt, time_tag, ele_tag, extensions_tag = (
        ns + tag for tag in ("trkseg", "trkpt", "time", "ele", "extensions")
    )
    tracks = root.findall(ns + "trk")
    sport = _sport(tracks, ns)
    foot = normalise_sport(sport) in FOOT_SPORTS
    times, lats, lons, eles, hrs, cads, dists = [], [], [], [], [], [], []
    segment_starts: set[int] = set()
    total_m = 0.0  # running, for the distance series
    length_m = 0.0  # summed segment by segment and track by track, as gpxpy's length_2d does (same rounding)
    for track in tracks:
        track_m = 0.0
        for segment in track.iterfind(trkseg):
            segment_m = 0.0
            previous = None
            first_in_segment = True
            for point in segment.iterfind(trkpt):
                lat = _float(point.get("lat"), name, "latitude")
                lon = _float(point.get("lon"), name, "longitude")
                if lat is None or lon is None:
                    raise ActivityFileError("corrupt GPX file (a track point without lat/lon)", name=name)
                if previous is not None:  # from this point to the previous one, like gpxpy's distance_2d
                    step = distance(lat, lon, None, previous[0], previous[1], None)
                    total_m += step
                    segment_m += step
                previous = (lat, lon)
                moment = _time(point.findtext(time_tag), name)
                if moment is None:
                    continue
                if first_in_segment and times:
                    segment_starts.add(len(times))
                first_in_segment = False
                extensions = point.findall(extensions_tag)
                hr, cad = _extension_values(extensions) if extensions else (None, None)
                times.append(moment)
                lats.append(lat)
                lons.append(lon)
                eles.append(_float(point.findtext(ele_tag), name, "elevation"))
                hrs.append(hr)
                cads.append(cad * 2 if cad is not None and foot else cad)
                dists.append(total_m / 1000.0)
            track_m += segment_m
        length_m += track_m
    if not times:
        if tracks or root.find(ns + "rte") is not None:
            raise ActivityFileError("no timestamps: a planned route, not a recorded activity", name=name)
        raise ActivityFileError("no track points: not a recorded activity", name=name)
    start = _utc(times[0])
    offset = times[0].utcoffset()
    return Track(
        source="gpx",
        sport_raw=sport,
        start_utc=start,
        elapsed_seconds=(_utc(times[-1]) - start).total_seconds(),
        distance_km=length_m / 1000.0,
        file_offset=stated_offset(offset.total_seconds()) if offset else None,
        samples={
            "clock": [(_utc(t) - start).total_seconds() for t in times],
            "distance": dists,
            "latitude": lats,
            "longitude": lons,
            "elevation": eles,
            "heartRate": hrs,
            "cadence": cads,
        },
        segment_starts=segment_starts,
        device=(root.get("creator") or "").strip()[:64] or None,
    )
