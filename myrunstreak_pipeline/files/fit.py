"""FIT files (Garmin, Coros, Wahoo, phone apps) via fitdecode.

* Speed: fitdecode runs without its data processor (timestamps stay FIT seconds, converted here only where
  needed) and without its per-read CRC; the file CRC is checked here once over the whole file instead (a
  table-driven CRC-16 pass, ~65 ms per MB). A CRC mismatch is an error.
* Malformed *field definitions* (COROS writes field sizes that are not a multiple of the type's size) are
  skipped with fitdecode's warnings silenced, as every FIT SDK does.
* Truncation, an undefined local message, a bad header or CRC raise ``ActivityFileError``: a file that breaks
  part-way is quarantined whole, even when a session message was read before the break.
* **Multisport** (several sessions): the activity is the file's foot legs (running, walking, hiking sessions)
  summed: distance, elapsed and timer time, laps and samples of those legs only, distance samples made
  cumulative over the legs. Transitions and the other legs are kept in ``sessions`` but do not count. A
  multisport file without foot legs is its non-transition sessions summed, with the first one's sport.
"""

from __future__ import annotations

import io
import warnings
from datetime import UTC, datetime, timedelta

import fitdecode

from myrunstreak_pipeline.files.errors import ActivityFileError
from myrunstreak_pipeline.files.normalise import FOOT_SPORTS, Session, Track, normalise_sport
from myrunstreak_pipeline.files.zones import stated_offset

SEMICIRCLE = 180.0 / 2**31
FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
_CRC_TABLE = []
for _byte in range(256):
    _crc = _byte
    for _ in range(8):
        _crc = (_crc >> 1) ^ 0xA001 if _crc & 1 else _crc >> 1
    _CRC_TABLE.append(_crc)


def crc16(data: bytes) -> int:
    """FIT's CRC-16 (CRC-16/ARC). Over a whole FIT file, CRC bytes included, it is 0 when the file is intact."""
    crc, table = 0, _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def _moment(seconds: int) -> datetime:
    return FIT_EPOCH + timedelta(seconds=seconds)


_SESSION_FIELDS = (
    "sport",
    "sub_sport",
    "start_time",
    "total_elapsed_time",
    "total_timer_time",
    "total_distance",
    "avg_heart_rate",
    "max_heart_rate",
    "avg_running_cadence",
    "avg_cadence",
    "avg_fractional_cadence",
    "total_ascent",
    "total_descent",
)
_LAP_FIELDS = ("start_time", "total_elapsed_time", "total_distance")
_INDOOR = {"treadmill", "indoor_running", "indoor_walking", "indoor_cycling", "virtual_activity"}


def _fields(frame: fitdecode.FitDataMessage, names: tuple[str, ...]) -> dict:
    wanted = set(names)
    return {f.name: f.value for f in frame.fields if f.name in wanted}


def _record(frame: fitdecode.FitDataMessage) -> tuple | None:
    ts = lat = lon = dist = alt = hr = cad = frac = None
    for f in frame.fields:
        name, value = f.name, f.value
        if value is None:
            continue
        if name == "timestamp":
            ts = value
        elif name == "position_lat":
            lat = value * SEMICIRCLE
        elif name == "position_long":
            lon = value * SEMICIRCLE
        elif name == "distance":
            dist = value
        elif name == "enhanced_altitude" or (name == "altitude" and alt is None):
            alt = value
        elif name == "heart_rate":
            hr = value
        elif name == "cadence":
            cad = value
        elif name == "fractional_cadence":
            frac = value
    if not isinstance(ts, int):
        return None
    if cad is not None and isinstance(frac, (int, float)):
        cad += frac
    return ts, lat, lon, dist, alt, hr, cad


def _decode(data: bytes, name: str) -> tuple[list[dict], list[dict], list[tuple], dict, dict]:
    sessions, laps, records, activity, file_id = [], [], [], {}, {}
    reader = fitdecode.FitReader(
        io.BytesIO(data),
        processor=None,
        check_crc=fitdecode.CrcCheck.DISABLED,
        error_handling=fitdecode.ErrorHandling.WARN,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for frame in reader:
                if not isinstance(frame, fitdecode.FitDataMessage):
                    continue
                kind = frame.name
                if kind == "record":
                    row = _record(frame)
                    if row is not None:
                        records.append(row)
                elif kind == "lap":
                    laps.append(_fields(frame, _LAP_FIELDS))
                elif kind == "session":
                    sessions.append(_fields(frame, _SESSION_FIELDS))
                elif kind == "activity":
                    activity = _fields(frame, ("timestamp", "local_timestamp"))
                elif kind == "file_id" and not file_id:
                    file_id = _fields(frame, ("type", "manufacturer", "product", "garmin_product", "product_name"))
    except fitdecode.FitHeaderError as exc:
        raise ActivityFileError(f"not a FIT file (bad header: {_short(exc)})", name=name) from None
    except fitdecode.FitEOFError as exc:
        raise ActivityFileError(f"truncated FIT file ({_short(exc)})", name=name) from None
    except fitdecode.FitCRCError as exc:
        raise ActivityFileError(f"corrupt FIT file: CRC mismatch ({_short(exc)})", name=name) from None
    except fitdecode.FitError as exc:
        raise ActivityFileError(f"corrupt FIT file ({_short(exc)})", name=name) from None
    finally:
        reader.close()
    if crc16(data) != 0:
        raise ActivityFileError("corrupt FIT file: CRC mismatch", name=name)
    return sessions, laps, records, activity, file_id


def _short(exc: Exception) -> str:
    """fitdecode's messages name a byte offset and a structure, never data; keep them short and printable."""
    text = "".join(ch for ch in str(exc) if ch.isprintable())
    return text[:160] or type(exc).__name__


def _device(file_id: dict) -> str | None:
    maker = file_id.get("manufacturer")
    product = file_id.get("product_name") or file_id.get("garmin_product") or file_id.get("product")
    parts = [str(part) for part in (maker, product) if part is not None]
    return " ".join(parts)[:64] or None


def _counted(sessions: list[dict]) -> list[dict]:
    if len(sessions) <= 1:
        return sessions
    foot = [s for s in sessions if normalise_sport(_text(s.get("sport"))) in FOOT_SPORTS]
    if foot:
        return foot
    legs = [s for s in sessions if _text(s.get("sport")) not in ("transition", "generic")]
    return legs or sessions[:1]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _num(session: dict, key: str) -> float:
    value = session.get(key)
    return float(value) if isinstance(value, (int, float)) else 0.0


def _window(session: dict) -> tuple[int, float]:
    return session["start_time"], _num(session, "total_elapsed_time")


def _within(moment: object, windows: list[tuple[int, float]], slack: float = 0.0) -> bool:
    return isinstance(moment, int) and any(0 <= moment - begin <= length + slack for begin, length in windows)


def parse_fit(data: bytes, name: str) -> Track:
    sessions, laps, records, activity, file_id = _decode(data, name)
    file_type = file_id.get("type")
    if file_type is not None and str(file_type) != "activity":
        raise ActivityFileError(f"not an activity FIT file (file type {str(file_type)[:32]})", name=name)
    sessions = [s for s in sessions if isinstance(s.get("start_time"), int)]
    counted = _counted(sessions)
    multi = len(counted) > 1 or len(sessions) > 1
    if counted:
        start = counted[0]["start_time"]
        windows = [_window(s) for s in counted]
        if multi:
            records = [r for r in records if _within(r[0], windows, slack=1.0)]
            laps = [lap for lap in laps if _within(lap.get("start_time"), windows)]
        elapsed = sum(length for _begin, length in windows)
        distance_km = sum(_num(s, "total_distance") for s in counted) / 1000.0
        moving = sum(_num(s, "total_timer_time") for s in counted)
    elif records:  # a file without a session message: the records are all there is
        start = records[0][0]
        elapsed = float(records[-1][0] - start)
        distance_km = max((r[3] for r in records if r[3] is not None), default=0.0) / 1000.0
        moving, windows = None, [(start, elapsed)]
    else:
        raise ActivityFileError("no session and no records: not a recorded activity", name=name)
    first = counted[0] if counted else {}
    sport = _text(first.get("sport"))
    foot = normalise_sport(sport) in FOOT_SPORTS
    track = Track(
        source="fit",
        sport_raw=sport,
        start_utc=_moment(start),
        elapsed_seconds=elapsed,
        distance_km=distance_km,
        moving_seconds=moving,
        file_offset=_offset(activity),
        laps=_laps(laps, start),
        device=_device(file_id),
        indoor=_text(first.get("sub_sport")) in _INDOOR,
        sessions=[
            Session(
                _text(s.get("sport")),
                _moment(s["start_time"]),
                _num(s, "total_elapsed_time"),
                _num(s, "total_distance") / 1000,
            )
            for s in sessions
        ],
    )
    if len(counted) == 1:
        only = counted[0]
        track.heart_rate_avg = only.get("avg_heart_rate")
        track.heart_rate_max = only.get("max_heart_rate")
        cadence = only.get("avg_running_cadence") or only.get("avg_cadence")
        if cadence:
            cadence += only.get("avg_fractional_cadence") or 0
            track.cadence_avg = cadence * 2 if foot else cadence
        if only.get("total_ascent") is not None or only.get("total_descent") is not None:
            track.elevation_gain_m = _num(only, "total_ascent")
            track.elevation_loss_m = _num(only, "total_descent")
    track.samples = _samples(records, start, windows if multi else None, double_cadence=foot)
    return track


def _offset(activity: dict):
    stamp, local = activity.get("timestamp"), activity.get("local_timestamp")
    if not isinstance(stamp, int) or not isinstance(local, int):
        return None
    return stated_offset(local - stamp)


def _laps(laps: list[dict], start: int) -> list[tuple[float, float]]:
    result, km = [], 0.0
    for lap in laps:
        begin = lap.get("start_time")
        if not isinstance(begin, int):
            continue
        km += (lap.get("total_distance") or 0.0) / 1000.0
        result.append((float(begin - start) + (lap.get("total_elapsed_time") or 0.0), km))
    return result


def _samples(records: list[tuple], start: int, windows, *, double_cadence: bool) -> dict[str, list]:
    """Column-major series; for a multisport file, distance is made cumulative over the counted legs only."""
    clock, lat, lon, dist, alt, hr, cad = [], [], [], [], [], [], []
    base, offset, leg, last_km = 0.0, 0.0, -1, 0.0
    for ts, la, lo, d, a, h, c in records:
        if windows is not None:
            index = next((i for i, (b, e) in enumerate(windows) if 0 <= ts - b <= e + 1), leg)
            if index != leg:
                leg, base, offset = index, last_km, None
        km = None
        if d is not None:
            if offset is None:
                offset = d
            km = base + (d - offset) / 1000.0
            last_km = km
        clock.append(float(ts - start))
        lat.append(la)
        lon.append(lo)
        dist.append(km)
        alt.append(a)
        hr.append(h)
        cad.append(c * 2 if c is not None and double_cadence else c)
    return {
        "clock": clock,
        "distance": dist,
        "latitude": lat,
        "longitude": lon,
        "elevation": alt,
        "heartRate": hr,
        "cadence": cad,
    }
