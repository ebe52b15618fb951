"""One activity file, normalised: ``Track`` (what a format parser read) -> ``FileActivity`` (what the pipeline uses).

Decisions (docs for the files room):

* **Sport** is normalised to running / walking / hiking / cycling / swimming / other / unknown (``unknown`` = the
  file states no sport at all; ``other`` = it states one we do not map). The raw value is kept. By default
  running and unknown count for a streak (a runner's own file with no sport is taken as a run; every app that
  records rides or swims writes the sport). Cycling and swimming never count, whatever is configured.
* **Moving time**: FIT's timer time (the device's own pauses). GPX/TCX have no timer, so a gap between two
  samples longer than ``PAUSE_GAP_SECONDS`` and the time between two GPX track segments are pauses and are
  removed from the elapsed time.
* **Cadence** is steps/min as SmashRun shows it: FIT and TCX/GPX extensions store strides (one foot) per minute
  for foot sports, so those values are doubled.
* **No fix**: a missing latitude/longitude, or exactly (0, 0) ("Null Island", a placeholder), is no GPS fix.
* **Id**: the SHA-256 of the (decompressed) file content, so ``x.fit`` and ``x.fit.gz`` are the same activity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from myrunstreak_pipeline.files.errors import ActivityFileError
from myrunstreak_pipeline.files.zones import resolve_local
from myrunstreak_pipeline.models.bounds import MAX_CADENCE, MAX_HEART_RATE, MIN_HEART_RATE, RECORDING_BOUNDS

__all__ = ["ActivityFileError", "FileActivity", "Session", "Track", "build", "normalise_sport"]

PAUSE_GAP_SECONDS = 60.0  # GPX/TCX: a sample gap longer than this is a pause (SOURCES.md uses the same figure)
SPORTS = ("running", "walking", "hiking", "cycling", "swimming", "other", "unknown")
COUNTED_BY_DEFAULT = frozenset({"running", "unknown"})
NEVER_COUNTED = frozenset({"cycling", "swimming"})
FOOT_SPORTS = frozenset({"running", "walking", "hiking"})
SERIES = ("clock", "distance", "latitude", "longitude", "elevation", "heartRate", "cadence")

# Strava's numeric GPX <type> codes (1 Ride, 4 Hike, 9 Run, 10 Walk) and the plain words of FIT/TCX/GPX.
_EXACT = {"1": "cycling", "4": "hiking", "9": "running", "10": "walking", "biking": "cycling", "bike": "cycling"}
_WORDS = (
    ("run", "running"),
    ("walk", "walking"),
    ("hik", "hiking"),
    ("cycl", "cycling"),
    ("bik", "cycling"),
    ("ride", "cycling"),
    ("swim", "swimming"),
)


def normalise_sport(raw: str | None) -> str:
    text = (raw or "").strip().lower()
    if not text:
        return "unknown"
    if text in _EXACT:
        return _EXACT[text]
    for word, sport in _WORDS:
        if word in text:
            return sport
    return "other"


@dataclass(frozen=True, slots=True)
class Session:
    """One FIT session (a multisport file has several); GPX/TCX files have one."""

    sport_raw: str | None
    start_utc: datetime
    elapsed_seconds: float
    distance_km: float


@dataclass(slots=True)
class Track:
    """What a format parser read, before the zone choice and the derived figures."""

    source: str
    sport_raw: str | None
    start_utc: datetime  # aware
    elapsed_seconds: float
    distance_km: float
    moving_seconds: float | None = None  # None: derived from the sample gaps
    file_offset: timedelta | None = None
    laps: list[tuple[float, float]] = field(default_factory=list)
    heart_rate_avg: float | None = None
    heart_rate_max: float | None = None
    cadence_avg: float | None = None  # steps/min
    elevation_gain_m: float | None = None
    elevation_loss_m: float | None = None
    samples: dict[str, list[float | None]] = field(default_factory=dict)  # SERIES keys, equal lengths
    segment_starts: set[int] = field(default_factory=set)  # sample indexes that start a new GPX segment
    sessions: list[Session] = field(default_factory=list)
    device: str | None = None
    indoor: bool = False


@dataclass(frozen=True, slots=True)
class FileActivity:
    source: str  # fit | gpx | tcx
    content_sha256: str
    name: str
    sport: str  # one of SPORTS
    sport_raw: str | None
    start_utc: datetime  # aware, UTC
    start_local: datetime  # aware, with the runner's offset
    zone_source: str  # file | gps | default
    zone_name: str | None  # IANA name when known (gps, default)
    distance_km: float
    elapsed_seconds: float
    moving_seconds: float
    laps: list[tuple[float, float]]  # (end_elapsed_s, end_km), cumulative
    heart_rate_avg: float | None
    heart_rate_max: float | None
    cadence_avg: float | None
    elevation_gain_m: float | None
    elevation_loss_m: float | None
    start_lat: float | None
    start_lon: float | None
    recording_keys: list[str]  # column-major like SmashRun: recording_values[i] is the series of keys[i]
    recording_values: list[list[float | None]]
    pause_indexes: list[int]  # sample indexes that follow a pause
    sessions: list[Session]
    device: str | None = None
    indoor: bool = False

    @property
    def local_date(self) -> date:
        """The runner's calendar day of the start (streak-rules §1.3: a run spanning midnight counts once)."""
        return self.start_local.date()

    @property
    def activity_id(self) -> str:
        return f"file:{self.content_sha256[:16]}"

    def counts_for_streak(self, sports: frozenset[str] | set[str] = COUNTED_BY_DEFAULT) -> bool:
        """Whether this activity's sport counts: one of ``sports``, and never a ride or a swim."""
        return self.sport in sports and self.sport not in NEVER_COUNTED

    def series(self, key: str) -> list[float | None] | None:
        return self.recording_values[self.recording_keys.index(key)] if key in self.recording_keys else None

    def to_payload(self) -> dict[str, Any]:
        """A SmashRun-shaped activity (camelCase keys; distance km, duration = moving seconds)."""
        payload: dict[str, Any] = {
            "activityId": self.activity_id,
            "activityType": self.sport,
            "startDateTimeLocal": self.start_local.isoformat(),
            "distance": round(self.distance_km, 5),
            "duration": round(self.moving_seconds, 3),
            "source": f"file:{self.source}",
            "externalId": self.content_sha256,
            "hasDetails": 1,
            "hasDetailsGPS": int(self.start_lat is not None),
            "isTreadmill": int(self.indoor),
            "laps": [
                {"lapType": "general", "endDuration": round(end_s, 3), "endDistance": round(end_km, 5)}
                for end_s, end_km in self.laps
            ],
        }
        optional = {
            "deviceType": self.device,
            "startLatitude": self.start_lat,
            "startLongitude": self.start_lon,
            "heartRateAverage": _int_within(self.heart_rate_avg, MIN_HEART_RATE, MAX_HEART_RATE),
            "heartRateMax": _int_within(self.heart_rate_max, MIN_HEART_RATE, MAX_HEART_RATE),
            "cadenceAverage": _int_within(self.cadence_avg, 0, MAX_CADENCE),
            "elevationGain": None if self.elevation_gain_m is None else round(self.elevation_gain_m, 1),
            "elevationLoss": None if self.elevation_loss_m is None else round(self.elevation_loss_m, 1),
        }
        payload.update({key: value for key, value in optional.items() if value is not None})
        if self.recording_keys:
            payload["recordingKeys"] = list(self.recording_keys)
            payload["recordingValues"] = [list(values) for values in self.recording_values]
            payload["pauseIndexes"] = list(self.pause_indexes)
        return payload


def _int_within(value: float | None, low: float, high: float) -> int | None:
    if value is None or not math.isfinite(value):
        return None
    rounded = round(value)
    return rounded if low <= rounded <= high else None


def _mean(values: list[float | None], *, skip_zero: bool = False) -> float | None:
    present = [v for v in values if v is not None and (v > 0 or not skip_zero)]
    return sum(present) / len(present) if present else None


def _climb(elevations: list[float | None]) -> tuple[float | None, float | None]:
    present = [v for v in elevations if v is not None]
    if len(present) < 2:
        return None, None
    gain = loss = 0.0
    for before, after in zip(present, present[1:]):
        if after > before:
            gain += after - before
        else:
            loss += before - after
    return gain, loss


def _clean(key: str, values: list[float | None]) -> list[float | None]:
    """Samples outside the physical bounds (sensor junk) become None, as SmashRun shows a dropout."""
    low, high = RECORDING_BOUNDS.get(key, (-math.inf, math.inf))
    return [v if v is not None and math.isfinite(v) and low <= v <= high else None for v in values]


def _is_fix(lat: float | None, lon: float | None) -> bool:
    """A usable GPS fix: both present and not (0, 0), the placeholder apps write for "no position"."""
    return lat is not None and lon is not None and (lat, lon) != (0.0, 0.0)


def _pauses(clock: list[float | None], segment_starts: set[int]) -> tuple[list[int], float]:
    indexes, paused = [], 0.0
    previous = None
    for index, now in enumerate(clock):
        if now is None:
            continue
        if previous is not None:
            gap = now - previous
            if gap > PAUSE_GAP_SECONDS or index in segment_starts:
                indexes.append(index)
                paused += max(gap, 0.0)
        previous = now
    return indexes, paused


def build(track: Track, *, content_sha256: str, name: str, default_zone: str) -> FileActivity:
    samples = {key: _clean(key, track.samples[key]) for key in SERIES if key in track.samples}
    keys = [key for key in SERIES if key in samples and any(v is not None for v in samples[key])]
    clock = samples.get("clock", [])
    pause_indexes, paused = _pauses(clock, track.segment_starts)
    moving = track.moving_seconds
    if moving is None:
        moving = max(track.elapsed_seconds - paused, 0.0)
    lats, lons = samples.get("latitude", []), samples.get("longitude", [])
    first_fix = next(((la, lo) for la, lo in zip(lats, lons) if _is_fix(la, lo)), None)
    start_local, zone_source, zone_name = resolve_local(track.start_utc, track.file_offset, first_fix, default_zone)
    gain, loss = track.elevation_gain_m, track.elevation_loss_m
    if gain is None and loss is None:
        gain, loss = _climb(samples.get("elevation", []))
    hr = samples.get("heartRate", [])
    heart_max = track.heart_rate_max
    if heart_max is None:
        heart_max = max((v for v in hr if v), default=None)
    return FileActivity(
        source=track.source,
        content_sha256=content_sha256,
        name=name,
        sport=normalise_sport(track.sport_raw),
        sport_raw=track.sport_raw,
        start_utc=track.start_utc,
        start_local=start_local,
        zone_source=zone_source,
        zone_name=zone_name,
        distance_km=track.distance_km,
        elapsed_seconds=track.elapsed_seconds,
        moving_seconds=moving,
        laps=list(track.laps),
        heart_rate_avg=track.heart_rate_avg if track.heart_rate_avg is not None else _mean(hr, skip_zero=True),
        heart_rate_max=heart_max,
        cadence_avg=track.cadence_avg
        if track.cadence_avg is not None
        else _mean(samples.get("cadence", []), skip_zero=True),
        elevation_gain_m=gain,
        elevation_loss_m=loss,
        start_lat=first_fix[0] if first_fix else None,
        start_lon=first_fix[1] if first_fix else None,
        recording_keys=keys,
        recording_values=[samples[key] for key in keys],
        pause_indexes=pause_indexes,
        sessions=list(track.sessions),
        device=track.device,
        indoor=track.indoor,
    )
