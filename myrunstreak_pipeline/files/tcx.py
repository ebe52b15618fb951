"""TCX (Garmin Training Center) files via tcxreader.

Distance is the device total (the laps' ``DistanceMeters``), or the last cumulative trackpoint distance when the
laps state none. Elapsed time is first to last trackpoint; pauses (sample gaps over ``PAUSE_GAP_SECONDS``) come
off it for the moving time. Laps are cumulative (end time since the start, end distance in km).
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from tcxreader.tcxreader import TCXReader

from myrunstreak_pipeline.files.errors import ActivityFileError
from myrunstreak_pipeline.files.normalise import FOOT_SPORTS, Track, normalise_sport
from myrunstreak_pipeline.files.zones import stated_offset


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _cadence(point) -> float | None:
    if point.cadence is not None:
        return float(point.cadence)
    for key, value in (point.tpx_ext or {}).items():
        if key.rsplit("}", 1)[-1] == "RunCadence" and isinstance(value, (int, float)):
            return float(value)
    return None


def parse_tcx(data: bytes, name: str) -> Track:
    try:
        exercise = TCXReader().read(io.BytesIO(data), only_gps=False)
    except ET.ParseError as exc:
        line, column = exc.position
        raise ActivityFileError(f"corrupt TCX file (XML error at line {line}, column {column})", name=name) from None
    except Exception as exc:  # tcxreader assumes the TCX schema; anything else fails somewhere inside it
        raise ActivityFileError(f"unreadable TCX file ({type(exc).__name__})", name=name) from None
    points = [p for p in exercise.trackpoints or [] if isinstance(p.time, datetime)]
    if not points:
        raise ActivityFileError("no timestamped trackpoints: not a recorded activity", name=name)
    sport = (exercise.activity_type or "").strip() or None
    foot = normalise_sport(sport) in FOOT_SPORTS
    start = _utc(points[0].time)
    distance_m = float(exercise.distance or 0.0)
    if distance_m <= 0:
        distance_m = max((p.distance for p in points if p.distance is not None), default=0.0)
    laps, km = [], 0.0
    for lap in exercise.laps or []:
        if not isinstance(lap.start_time, datetime):
            continue
        km += (lap.distance or 0.0) / 1000.0
        end = lap.end_time if isinstance(lap.end_time, datetime) else None
        end_s = (_utc(end) - start).total_seconds() if end else (_utc(lap.start_time) - start).total_seconds()
        laps.append((end_s, km))
    offset = points[0].time.utcoffset()
    cadences = [_cadence(p) for p in points]
    return Track(
        source="tcx",
        sport_raw=sport,
        start_utc=start,
        elapsed_seconds=(_utc(points[-1].time) - start).total_seconds(),
        distance_km=distance_m / 1000.0,
        file_offset=stated_offset(offset.total_seconds()) if offset else None,
        laps=laps,
        elevation_gain_m=exercise.ascent,
        elevation_loss_m=exercise.descent,
        samples={
            "clock": [(_utc(p.time) - start).total_seconds() for p in points],
            "distance": [None if p.distance is None else p.distance / 1000.0 for p in points],
            "latitude": [p.latitude for p in points],
            "longitude": [p.longitude for p in points],
            "elevation": [p.elevation for p in points],
            "heartRate": [None if p.hr_value is None else float(p.hr_value) for p in points],
            "cadence": [c * 2 if c is not None and foot else c for c in cadences],
        },
    )
