"""The synthetic athlete's history: a deterministic multi-year run streak with the pipeline's edge cases.

``generate_history(years, seed, now, today)`` plans travel and day kinds, then writes one summary payload per
run (breaks, sub-mile days, two-run days, near-midnight runs, DST and travel offsets, treadmill/manual/
zero-duration runs). Same seed, same ``today`` and ``now`` → the same payloads, byte for byte. Extended fields
and recordings are generated later, lazily (details.py).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from myrunstreak_pipeline.sandbox.formats import format_local, format_utc, format_utc_minute, number

UTC = UTC
MILE_KM = 1.609344
HOME_ZONE = "America/New_York"


@dataclass(frozen=True)
class Place:
    zone: str
    latitude: float
    longitude: float
    country_code: str
    country: str
    state: str
    city: str


HOME = Place(HOME_ZONE, 40.7128, -74.0060, "US", "United States", "NY", "New York")
AUCKLAND = Place("Pacific/Auckland", -36.8485, 174.7633, "NZ", "New Zealand", "Auckland", "Auckland")
LOS_ANGELES = Place("America/Los_Angeles", 34.0522, -118.2437, "US", "United States", "CA", "Los Angeles")
_ZONES = {place.zone: ZoneInfo(place.zone) for place in (HOME, AUCKLAND, LOS_ANGELES)}


# --------------------------------------------------------------------------------------------- plans

# Day plans. "break" kinds make the streak end; the rest are qualifying days.
REST, SHORT_ONLY, EXACT_1609 = "rest", "short_only", "exact_1609"
NORMAL, TWO_RUNS, TWO_SHORT, SHORT_EXTRA = "normal", "two_runs", "two_short", "short_extra"
TREADMILL, MANUAL, ZERO_DURATION, LATE, EARLY = "treadmill", "manual", "zero_duration", "late", "early"
BREAK_KINDS = (REST, SHORT_ONLY, EXACT_1609)
# Optional day kinds with their daily probability; each is also forced to occur at least once.
_DAY_KIND_ODDS = (
    (TWO_RUNS, 0.04),
    (TWO_SHORT, 0.012),
    (SHORT_EXTRA, 0.025),
    (TREADMILL, 0.07),
    (MANUAL, 0.03),
    (ZERO_DURATION, 0.003),
    (LATE, 0.015),
    (EARLY, 0.01),
)
_WEATHER = (
    "clear",
    "clear",
    "partlycloudy",
    "partlycloudy",
    "cloudy",
    "drizzle",
    "extremerain",
    "storm",
    "extremewind",
    "extremecold",
)
_NOTES = ("", "", "", "", "", "", "easy", "felt great", "windy out there", "with the dog", "recovery jog")


@dataclass
class _RunSpec:
    place: Place
    local: datetime  # aware, in the place's zone
    kind: str  # "gps" | "treadmill" | "manual"
    distance: float  # km
    duration: float  # moving seconds
    is_race: bool = False


def generate_history(
    years: int, seed: int, now: datetime, today: date | None = None
) -> tuple[list[tuple[dict, Place]], int]:
    """``(runs, next_id)``: each run's summary payload with the place it was run at, oldest first, for a history
    ending on ``today`` (default: ``now``'s date at home); runs not finished by ``now`` are left out.
    ``next_id`` is the first id after every id the generator drew."""
    return _SyntheticHistory(years, seed, now, today).generate()


class _SyntheticHistory:
    def __init__(self, years: int, seed: int, now: datetime, today: date | None):
        if int(years) < 1:
            raise ValueError("years must be at least 1")
        self.rng = random.Random(seed)
        self.now = now
        self.today = today or self.now.astimezone(_ZONES[HOME_ZONE]).date()
        self.start = _years_before(self.today, int(years)) + timedelta(days=1)
        self.days = [self.start + timedelta(days=i) for i in range((self.today - self.start).days + 1)]

    def generate(self) -> tuple[list[tuple[dict, Place]], int]:
        places = self._plan_travel()
        kinds = self._plan_kinds(places)
        rng = self.rng
        next_id = 10_000_000 + rng.randrange(1000)
        runs = []
        for index, day in enumerate(self.days):
            for spec in self._runs_for(day, kinds[index], places[index]):
                next_id += rng.randint(1, 40)
                payload = self._summary(next_id, spec)
                if payload is not None:
                    runs.append((payload, spec.place))
        return runs, next_id + 1

    # -------------------------------------------------------------------------------------- planning

    def _plan_travel(self) -> list[Place]:
        """Home, except a January trip to Auckland (+13:00) and a November trip to Los Angeles (-08:00)."""
        places = [HOME] * len(self.days)
        index_of = {day: i for i, day in enumerate(self.days)}
        last_free = len(self.days) - 45  # the last weeks stay at home (and unbroken)
        for year in range(self.start.year, self.today.year + 1):
            for place, month, first, span in ((AUCKLAND, 1, 6, (5, 9)), (LOS_ANGELES, 11, 12, (3, 6))):
                begin = date(year, month, first + self.rng.randrange(10))
                for offset in range(self.rng.randint(*span)):
                    i = index_of.get(begin + timedelta(days=offset))
                    if i is not None and 7 <= i < last_free:
                        places[i] = place
        for place in (AUCKLAND, LOS_ANGELES):  # short histories: still show both offsets
            if place not in places:
                middle = len(self.days) // 3 + (0 if place is AUCKLAND else len(self.days) // 3)
                for i in range(middle, min(middle + 4, len(places))):
                    places[i] = place
        return places

    def _plan_kinds(self, places: list[Place]) -> list[str]:
        rng = self.rng
        n = len(self.days)
        kinds = [NORMAL] * n
        protected = set(range(max(0, n - 45), n))  # keep the current streak alive
        protected.update(i for i, day in enumerate(self.days) if _is_dst_change(day))
        protected.update(i for i, place in enumerate(places) if place is not HOME)
        for i in range(n):
            if i in protected:
                continue
            roll = rng.random()
            for kind, odds in _DAY_KIND_ODDS:
                if roll < odds:
                    kinds[i] = kind
                    break
                roll -= odds
        # A few breaks: 1–3 day gaps, about one every 18 months, at least two; one of each break kind.
        eligible = [i for i in range(7, n) if i not in protected]
        breaks = max(2, round(len(self.days) / 550))
        break_kinds = [REST, SHORT_ONLY, EXACT_1609] + [REST] * max(0, breaks - 3)
        for kind in break_kinds:
            start = rng.choice(eligible)
            for i in range(start, min(start + rng.randint(1, 3), n)):
                if i not in protected:
                    kinds[i] = kind if i == start else REST
        # Every optional kind occurs at least once, even in a one-year history.
        for kind, _ in _DAY_KIND_ODDS:
            if kind not in kinds:
                candidates = [i for i in eligible if kinds[i] == NORMAL]
                kinds[rng.choice(candidates)] = kind
        return kinds

    # ------------------------------------------------------------------------------------ run shapes

    def _runs_for(self, day: date, kind: str, place: Place) -> list[_RunSpec]:
        rng = self.rng
        if kind == REST:
            return []
        if kind in (SHORT_ONLY, EXACT_1609):
            distance = 1.609 if kind == EXACT_1609 else rng.uniform(0.8, 1.55)
            return [self._spec(place, day, self._morning(), "gps", distance)]
        if kind == TWO_SHORT:  # each under a mile, together over one: sum mode passes, strict mode fails
            first = rng.uniform(0.95, 1.55)
            second = rng.uniform(max(0.85, MILE_KM + 0.1 - first), 1.55)
            return [
                self._spec(place, day, time(7, rng.randrange(60)), "gps", first),
                self._spec(place, day, time(18, rng.randrange(60)), "gps", second),
            ]
        if kind == TWO_RUNS:
            return [
                self._spec(place, day, time(6, rng.randrange(60)), "gps", self._distance(day)),
                self._spec(
                    place,
                    day,
                    time(18, rng.randrange(60)),
                    "treadmill" if rng.random() < 0.3 else "gps",
                    rng.uniform(3, 8),
                ),
            ]
        if kind == SHORT_EXTRA:
            return [
                self._spec(place, day, time(6, rng.randrange(60)), "gps", self._distance(day)),
                self._spec(place, day, time(17, rng.randrange(60)), "gps", rng.uniform(0.5, 1.5)),
            ]
        if kind == TREADMILL or (place is not HOME and rng.random() < 0.2):
            return [self._spec(place, day, self._morning(), "treadmill", rng.uniform(3, 10))]
        if kind == MANUAL:
            return [self._spec(place, day, self._morning(), "manual", float(rng.choice((3, 5, 5, 8, 10))))]
        if kind == ZERO_DURATION:
            spec = self._spec(place, day, self._morning(), "manual", round(rng.uniform(2, 6), 2))
            spec.duration = 0
            return [spec]
        if kind == LATE:
            return [self._spec(place, day, time(23, rng.randrange(30, 56)), "gps", rng.uniform(3, 7))]
        if kind == EARLY:
            return [self._spec(place, day, time(0, rng.randrange(1, 30)), "gps", rng.uniform(3, 7))]
        is_race = day.weekday() == 5 and rng.random() < 0.04
        distance = rng.choice((5.0, 10.0, 21.0975, 42.195)) if is_race else self._distance(day)
        start = (
            self._morning()
            if day == self.today or rng.random() < 0.7
            else time(17 + rng.randrange(3), rng.randrange(60))
        )
        return [self._spec(place, day, start, "gps", distance, is_race)]

    def _morning(self) -> time:
        minutes = self.rng.randrange(5 * 60 + 30, 7 * 60 + 45)
        return time(minutes // 60, minutes % 60)

    def _distance(self, day: date) -> float:
        if day.weekday() == 6:  # Sunday long run
            return self.rng.uniform(14, 30)
        return self.rng.uniform(3.5, 12)

    def _spec(
        self, place: Place, day: date, start: time, kind: str, distance: float, is_race: bool = False
    ) -> _RunSpec:
        pace = self.rng.uniform(270, 390) * (0.9 if is_race else 1.0)  # seconds per km
        local = datetime.combine(day, start, tzinfo=_ZONES[place.zone])
        return _RunSpec(place, local, kind, distance, distance * pace, is_race)

    # -------------------------------------------------------------------------------------- payloads

    def _summary(self, activity_id: int, spec: _RunSpec) -> dict | None:
        rng = self.rng
        start_utc = spec.local.astimezone(UTC)
        end_utc = start_utc + timedelta(seconds=spec.duration + rng.randrange(0, 120))
        if end_utc + timedelta(minutes=2) > self.now:
            return None  # not run yet on the sandbox clock
        manual = spec.kind == "manual"
        integral = manual or rng.random() < 0.08
        distance = number(spec.distance, 5, integral=manual and spec.distance == int(spec.distance))
        payload: dict = {
            "activityId": activity_id,
            "activityType": "running",
            "duration": number(spec.duration, 3, integral=integral),
            "distance": distance,
            "calories": None if rng.random() < 0.25 else int(spec.distance * rng.uniform(60, 75)),
            "notes": rng.choice(_NOTES),
            "startDateTimeLocal": format_local(spec.local),
        }
        if manual:
            payload.update(externalId="", source="manual", appVersion="", deviceType="", hasDetails=0, hasDetailsGPS=0)
        else:
            payload.update(
                externalId=str(rng.randrange(10**9, 10**10)),
                source=rng.choice(("garminhealth", "garminhealth", "garminpush")),
                appVersion=rng.choice(("20.04", "19.20", "7")),
                deviceType="Garmin",
                hasDetails=1,
                hasDetailsGPS=1 if spec.kind == "gps" else 0,
            )
            if spec.kind == "gps":
                payload.update(
                    startLatitude=round(spec.place.latitude + rng.uniform(-0.02, 0.02), 6),
                    startLongitude=round(spec.place.longitude + rng.uniform(-0.02, 0.02), 6),
                )
            if rng.random() < 0.9:
                average = rng.randint(128, 162)
                payload.update(
                    heartRateMax=average + rng.randint(8, 25),
                    heartRateMin=rng.randint(60, 100),
                    heartRateAverage=average,
                )
            cadence = rng.randint(165, 182)
            payload["cadenceMax"] = cadence + rng.randint(5, 20)
            if rng.random() < 0.9:  # cadenceMin is sometimes missing on its own
                payload["cadenceMin"] = rng.randint(90, 150)
            payload["cadenceAverage"] = cadence
            if spec.kind == "gps":
                temperature = _temperature(spec.local, spec.place, rng)
                wind = rng.randint(0, 40)
                payload.update(
                    weatherType=rng.choice(_WEATHER),
                    temperature=round(temperature, 2),
                    humidity=rng.randint(20, 100),
                    windSpeed=wind,
                    temperatureApparent=round(temperature - wind / 10, 2),
                    temperatureWindChill=round(temperature - wind / 6, 2),
                )
            payload.update(howFelt="none", terrain="treadmill" if spec.kind == "treadmill" else "none")
        payload.update(
            isRace=int(spec.is_race),
            isTreadmill=int(spec.kind == "treadmill"),
            isBadHR=int(rng.random() < 0.02),
            isBadElevation=int(rng.random() < 0.02),
        )
        if manual:  # typed in later the same day (or the next)
            created = end_utc + timedelta(hours=rng.uniform(0.2, 20))
            sync = None
        else:
            synced = end_utc + timedelta(minutes=rng.randint(2, 30))
            sync = format_utc_minute(synced)
            created = synced + timedelta(seconds=rng.uniform(0, 59))
        created = min(created, self.now - timedelta(seconds=1))
        updated = created + timedelta(seconds=rng.uniform(0, 2))
        if rng.random() < 0.02:  # edited (a note added) some days later
            updated = min(created + timedelta(days=rng.uniform(1, 30)), self.now - timedelta(seconds=1))
        payload.update(
            syncDateTimeUTC=sync,
            dateCreatedUTC=format_utc(_coarsen(created, rng)),
            dateUpdatedUTC=format_utc(_coarsen(max(updated, created), rng)),
        )
        return payload


def _coarsen(moment: datetime, rng: random.Random) -> datetime:
    """0–3 fractional digits, like real payloads."""
    digits = rng.choice((0, 1, 2, 3, 3, 3))
    step = 10 ** (6 - digits)
    return moment.replace(microsecond=moment.microsecond // step * step)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _is_dst_change(day: date) -> bool:
    zone = _ZONES[HOME_ZONE]
    return (
        datetime.combine(day, time(0), zone).utcoffset()
        != datetime.combine(day + timedelta(days=1), time(0), zone).utcoffset()
    )


def _temperature(local: datetime, place: Place, rng: random.Random) -> float:
    season = math.cos((local.timetuple().tm_yday - 200) / 365.25 * 2 * math.pi)
    if place.latitude < 0:
        season = -season
    return 13 + 13 * season + rng.uniform(-6, 6)
