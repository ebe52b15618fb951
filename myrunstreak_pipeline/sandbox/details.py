"""Lazily generated parts of a synthetic activity: the extended fields and the recordings/laps of the full one.

Deterministic from ``(seed, activityId)`` and the summary, so a 55-year athlete keeps only its summaries in
memory and every request for the same activity gets the same answer.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta

from myrunstreak_pipeline.sandbox.formats import format_local
from myrunstreak_pipeline.sandbox.history import Place


def _detail_rng(seed: int | None, activity_id: int, what: str) -> random.Random:
    return random.Random(f"{seed}:{activity_id}:{what}")  # str seeds hash deterministically (sha512)


def moon_phase(day: date) -> float:
    """0.0 new → 0.5 full → 1.0 new, from the mean synodic month (good to about a day)."""
    days = (day - date(2000, 1, 6)).days  # a new moon
    return round((days / 29.530588853) % 1.0, 2)


def generate_extended(payload: dict, seed: int | None, place: Place) -> dict:
    rng = _detail_rng(seed, payload["activityId"], "extended")
    local = datetime.fromisoformat(payload["startDateTimeLocal"])
    extended: dict = {}
    if payload.get("hasDetails"):
        extended["speedVariability"] = round(rng.uniform(2, 15), 2)
    # Day length from the latitude and season (simple astronomy: good to ~15 minutes).
    declination = -23.44 * math.cos(2 * math.pi * (local.timetuple().tm_yday + 10) / 365)
    cos_hour = -math.tan(math.radians(place.latitude)) * math.tan(math.radians(declination))
    half_day_h = math.degrees(math.acos(max(-1.0, min(1.0, cos_hour)))) / 15
    noon = datetime.combine(local.date(), time(12), tzinfo=local.tzinfo) + timedelta(
        hours=(local.utcoffset().total_seconds() / 3600) - place.longitude / 15
    )
    extended["sunriseLocal"] = format_local(noon - timedelta(hours=half_day_h))
    extended["sunsetLocal"] = format_local(noon + timedelta(hours=half_day_h))
    extended["moonPhase"] = moon_phase(local.date())
    if payload.get("hasDetailsGPS"):
        gain = rng.randint(5, 40) * max(1, int(float(payload.get("distance") or 0)))
        loss = max(0, gain + rng.randint(-15, 15))
        low = rng.randint(0, 250)
        extended.update(
            elevationGain=gain,
            elevationLoss=loss,
            elevationAscent=gain,
            elevationDescent=loss,
            elevationMin=low,
            elevationNet=gain - loss,
            countryCode=place.country_code,
            country=place.country,
            city=place.city,
            state=place.state,
        )
    extended["isCooperTest"] = 0
    return extended


def generate_details(full: dict, seed: int | None, place: Place) -> dict:
    """recordingKeys/Values (column-major), pauseIndexes, laps, songs, heartRateRecovery, from the summary."""
    details = {
        "recordingKeys": [],
        "recordingValues": [],
        "pauseIndexes": [],
        "laps": [],
        "songs": None,
        "heartRateRecovery": None,
    }
    if not full.get("hasDetails"):
        return details
    rng = _detail_rng(seed, full["activityId"], "details")
    moving = max(0.0, float(full.get("duration") or 0))
    distance = float(full.get("distance") or 0)
    interval = max(5, math.ceil(moving / 4000))  # at most ~4,000 samples
    steps = max(1, math.ceil(moving / interval))
    # A pause inserts a sample after a clock jump with no moving time and no distance (pauseIndexes = those).
    pause_steps: set[int] = set()
    if steps > 10 and rng.random() < 0.25:
        pause_steps = set(rng.sample(range(2, steps - 2), rng.randint(1, 2)))
    clock, moving_t, weights, pause_indexes = [0], [0.0], [0.0], []
    for step in range(steps):
        if step in pause_steps:
            clock.append(clock[-1] + rng.randint(20, 180))
            moving_t.append(moving_t[-1])
            weights.append(0.0)
            pause_indexes.append(len(clock) - 1)
        dt = interval if step < steps - 1 else moving - interval * (steps - 1)
        clock.append(round(clock[-1] + dt, 3))
        moving_t.append(round(moving_t[-1] + dt, 3))
        weights.append(1 + 0.15 * math.sin(step / 17) + rng.uniform(-0.1, 0.1))
    count = len(clock)
    scale = distance / (sum(weights) or 1)
    cumulative, total = [], 0.0
    for w in weights:
        total += w * scale
        cumulative.append(round(total, 5))
    cumulative[-1] = round(distance, 5)
    keys, values = ["clock", "distance"], [clock, cumulative]
    if full.get("hasDetailsGPS"):
        lat = float(full.get("startLatitude", place.latitude))
        lon = float(full.get("startLongitude", place.longitude))
        heading = rng.uniform(0, 2 * math.pi)
        lats, lons, elevations = [], [], []
        base, previous = rng.uniform(20, 250), 0.0
        no_fix = rng.randint(1, 3) if rng.random() < 0.15 else 0  # "-1" = no GPS fix yet
        for i, d in enumerate(cumulative):
            step, previous = d - previous, d
            heading += rng.uniform(-0.3, 0.3)
            lat += step * math.cos(heading) / 111.32
            lon += step * math.sin(heading) / (111.32 * math.cos(math.radians(lat)))
            lats.append(-1 if i < no_fix else round(lat, 6))
            lons.append(-1 if i < no_fix else round(lon, 6))
            elevations.append(round(base + 15 * math.sin(d * 1.3) + 5 * math.sin(d * 4.1), 1))
        keys += ["latitude", "longitude", "elevation"]
        values += [lats, lons, elevations]
    if "heartRateAverage" in full:
        average = int(full["heartRateAverage"])
        keys.append("heartRate")
        values.append([max(50, int(average - 25 * math.exp(-i / 40) + rng.randint(-4, 4))) for i in range(count)])
    if "cadenceAverage" in full:
        average = int(full["cadenceAverage"])
        keys.append("cadence")
        values.append([average + rng.randint(-4, 4) for _ in range(count)])
    details.update(recordingKeys=keys, recordingValues=values, pauseIndexes=pause_indexes)
    details["laps"] = _laps(moving_t, cumulative, rng) if rng.random() < 0.4 else []
    if "heartRate" in keys and rng.random() < 0.3:
        peak = values[keys.index("heartRate")][-1]
        details["heartRateRecovery"] = [{"duration": s, "heartRate": peak - s // 4} for s in (30, 60, 120)]
    if rng.random() < 0.05:
        details["songs"] = [
            {
                "album": "Sandbox Hits",
                "artist": "The Synthetics",
                "song": f"Track {n + 1}",
                "BPM": 170 + n,
                "startClock": n * 200,
                "endClock": (n + 1) * 200,
            }
            for n in range(min(3, int(moving // 200)))
        ]
    return details


def _laps(moving_t: list[float], cumulative: list[float], rng: random.Random) -> list[dict]:
    """Auto-laps every km, or an interval session (warmup / work+recovery / cooldown) by time."""
    total_time, total_km = moving_t[-1], cumulative[-1]
    laps: list[dict] = []
    if rng.random() < 0.7 or total_time < 1500:
        for km in range(1, int(total_km) + 1):
            if km < total_km:
                laps.append(
                    {
                        "lapType": "general",
                        "endDuration": int(_interpolate(km, cumulative, moving_t)),
                        "endDistance": float(km),
                    }
                )
        last_type = "general"
    else:
        marks, t = [(600, "warmup")], 600
        while t + 300 < total_time - 600:
            marks += [(t + 180, "work"), (t + 300, "recovery")]
            t += 300
        for end, lap_type in marks:
            laps.append(
                {
                    "lapType": lap_type,
                    "endDuration": end,
                    "endDistance": round(_interpolate(end, moving_t, cumulative), 5),
                }
            )
        last_type = "cooldown"
    laps.append({"lapType": last_type, "endDuration": int(round(total_time)), "endDistance": round(total_km, 5)})
    return laps


def _interpolate(x: float, xs: list[float], ys: list[float]) -> float:
    """y at ``x`` on the piecewise-linear series (``xs`` non-decreasing); past the end, the last y."""
    for i in range(1, len(xs)):
        if xs[i] >= x:
            span = xs[i] - xs[i - 1] or 1
            return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / span
    return ys[-1]
