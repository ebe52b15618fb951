"""GPX tracks (Garmin Connect, Strava, Apple Watch, TomTom, Nike Run Club exports) via gpxpy.

Distance is the 2-D track length (gpxpy ``length_2d``: within segments, never across a segment break). Elapsed
time is first to last timestamp; pauses (sample gaps over ``PAUSE_GAP_SECONDS`` and segment breaks) come off it
for the moving time. A GPX without any ``<time>`` is a planned route, not a recording: ``ActivityFileError``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import gpxpy
import gpxpy.gpx

from myrunstreak_pipeline.files.errors import ActivityFileError
from myrunstreak_pipeline.files.normalise import FOOT_SPORTS, Track, normalise_sport
from myrunstreak_pipeline.files.zones import stated_offset


def _extension_values(point: gpxpy.gpx.GPXTrackPoint) -> tuple[float | None, float | None]:
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


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _sport(gpx: gpxpy.gpx.GPX) -> str | None:
    for track in gpx.tracks:
        if track.type:
            return track.type.strip()
    for track in gpx.tracks:  # TomTom writes no <type> but names the track "Running"
        if track.name and normalise_sport(track.name) not in ("other", "unknown"):
            return track.name.strip()
    return None


def parse_gpx(data: bytes, name: str) -> Track:
    try:
        gpx = gpxpy.parse(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ActivityFileError("corrupt GPX file (not UTF-8 text)", name=name) from None
    except Exception as exc:  # gpxpy wraps XML errors in several types; its messages may quote the file
        raise ActivityFileError(f"corrupt GPX file ({type(exc).__name__})", name=name) from None
    sport = _sport(gpx)
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
                hr, cad = _extension_values(point)
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
    start = _utc(times[0])
    offset = times[0].utcoffset()
    return Track(
        source="gpx",
        sport_raw=sport,
        start_utc=start,
        elapsed_seconds=(_utc(times[-1]) - start).total_seconds(),
        distance_km=gpx.length_2d() / 1000.0,
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
        device=(gpx.creator or "").strip()[:64] or None,
    )
