"""The sandbox's athlete: a controllable clock, the mutable activity state, and a deterministic generator.

``Athlete.synthetic(years, seed, clock, today)`` builds a multi-year run streak with the edge cases the
pipeline must survive (breaks, sub-mile days, two-run days, near-midnight runs, DST and travel offsets,
treadmill/manual/zero-duration runs). Summaries are generated eagerly (cheap: ~20,000 dicts for 55 years);
recordings, laps, extended fields are generated lazily and deterministically from ``(seed, activityId)``
so a 55-year athlete stays small in memory. Payloads follow the real SmashRun serialisation
(docs/smashrun-api.md §5 and §10 D).
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
MILE_KM = 1.609344
HOME_ZONE = "America/New_York"

# Keys that only the full activity carries, and the "extended" keys (§5.3): everything else is summary.
DETAIL_KEYS = ("recordingKeys", "recordingValues", "pauseIndexes", "laps", "songs", "heartRateRecovery")
EXTENDED_KEYS = (
    "speedVariability", "sunriseLocal", "sunsetLocal", "moonPhase", "elevationGain", "elevationLoss",
    "elevationAscent", "elevationDescent", "elevationMin", "elevationNet", "countryCode", "country", "city",
    "state", "isCooperTest",
)
BRIEF_KEYS = ("activityId", "startDateTimeLocal", "distance", "duration")
# PATCH may change only these (docs/smashrun-api.md §3).
PATCHABLE_KEYS = frozenset({"notes", "duration", "distance", "startDateTimeLocal"})


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


# ---------------------------------------------------------------------------------------------- clock


class SandboxClock:
    """UTC wall clock that ticks in real time from a settable offset (tests move it; the CLI just runs)."""

    def __init__(self, now: datetime | None = None):
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        if now is not None:
            self.set(now)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("SandboxClock.set needs a timezone-aware datetime")
        with self._lock:
            self._offset = when - datetime.now(UTC)
        return self.now()


# ------------------------------------------------------------------------------------------ formatting


def format_local(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:00±HH:MM``: SmashRun's startDateTimeLocal has minute resolution."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{moment:%Y-%m-%dT%H:%M}:00{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_utc(moment: datetime) -> str:
    """UTC without offset, 0–3 fractional digits with trailing zeros trimmed (``…:39.44``, ``…:43``)."""
    moment = moment.astimezone(UTC)
    text = f"{moment:%Y-%m-%dT%H:%M:%S}"
    millis = moment.microsecond // 1000
    if millis:
        text += f".{millis:03d}".rstrip("0")
    return text


def format_utc_minute(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M}:00"


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _number(value: float, digits: int, integral: bool = False) -> float | int:
    """Round like SmashRun; some values arrive as integral JSON numbers (``13``)."""
    return int(round(value)) if integral else round(value, digits)


# --------------------------------------------------------------------------------------- athlete state


class Athlete:
    """The sandbox user's activities. Thread-safe; every change bumps ``version`` (the server caches on it).

    ``activities`` lists every activity (deleted ones included; the flag is kept internally, see
    ``deleted_ids`` / ``is_deleted``), each a summary+extended payload dict as the API would send it.
    """

    def __init__(self, clock: SandboxClock, *, seed: int | None = None, user_name: str = "sandbox-runner",
                 home: Place = HOME):
        self.clock = clock
        self.seed = seed
        self.user_name = user_name
        self.home = home
        self.version = 0
        self._lock = threading.RLock()
        self._payloads: dict[int, dict] = {}
        self._synthetic: dict[int, Place] = {}  # ids whose extended/detail fields are generated lazily
        self._deleted: set[int] = set()
        self._next_id = 1_000_000

    # ----------------------------------------------------------------------------------- construction

    @classmethod
    def from_payloads(cls, payloads: list[dict], clock: SandboxClock, *, user_name: str = "sandbox-runner"
                      ) -> "Athlete":
        """Load full activity objects as given (``--data``); each needs activityId and startDateTimeLocal."""
        if not isinstance(payloads, list):
            raise ValueError("activity data must be a JSON array of activity objects")
        athlete = cls(clock, user_name=user_name)
        for index, payload in enumerate(payloads):
            _check_payload(payload, f"activity #{index}")
            activity_id = int(payload["activityId"])
            if activity_id in athlete._payloads:
                raise ValueError(f"activity #{index}: duplicate activityId {activity_id}")
            athlete._payloads[activity_id] = dict(payload, activityId=activity_id)
        athlete._next_id = max(athlete._payloads, default=athlete._next_id) + 1
        return athlete

    @classmethod
    def synthetic(cls, years: int, seed: int, clock: SandboxClock, today: date | None = None) -> "Athlete":
        """A deterministic athlete whose history ends on ``today`` (default: today on the clock, home zone)."""
        athlete = cls(clock, seed=seed, user_name="synthetic-runner")
        _SyntheticHistory(athlete, years, seed, today).generate()
        return athlete

    # ----------------------------------------------------------------------------------------- reading

    @property
    def activities(self) -> list[dict]:
        with self._lock:
            return [self._with_extended(activity_id) for activity_id in self.sorted_ids(include_deleted=True)]

    @property
    def visible_activities(self) -> list[dict]:
        with self._lock:
            return [self._with_extended(activity_id) for activity_id in self.sorted_ids()]

    @property
    def deleted_ids(self) -> set[int]:
        with self._lock:
            return set(self._deleted)

    def is_deleted(self, activity_id: int) -> bool:
        return int(activity_id) in self._deleted

    def __len__(self) -> int:
        return len(self._payloads)

    def sorted_ids(self, include_deleted: bool = False, by_instant: bool = False) -> list[int]:
        """Newest first by the local wall-clock start (startDateTimeLocal), ties by id; ``by_instant`` sorts by
        the start's UTC instant instead (SmashRun's "ordered by StartDate" could mean either)."""
        def start(payload: dict) -> str | float:
            text = payload["startDateTimeLocal"]
            return datetime.fromisoformat(text).timestamp() if by_instant else text[:16]

        with self._lock:
            items = [(start(payload), activity_id)
                     for activity_id, payload in self._payloads.items()
                     if include_deleted or activity_id not in self._deleted]
        items.sort(reverse=True)
        return [activity_id for _, activity_id in items]

    def summary(self, activity_id: int) -> dict:
        payload = self._payloads[activity_id]
        return {k: v for k, v in payload.items() if k not in _NOT_SUMMARY}

    def extended(self, activity_id: int) -> dict:
        payload = self._with_extended(activity_id)
        return {k: v for k, v in payload.items() if k not in DETAIL_KEYS}

    def get(self, activity_id: int) -> dict | None:
        """The full activity (summary + extended + recordings/laps...), deleted or not; None if unknown."""
        with self._lock:
            if int(activity_id) not in self._payloads:
                return None
            full = self._with_extended(int(activity_id))
            place = self._synthetic.get(int(activity_id))
        if place is not None:
            full.update(_generate_details(full, self.seed, place))
        for key in DETAIL_KEYS:
            full.setdefault(key, None if key in ("songs", "heartRateRecovery") else [])
        return full

    def _with_extended(self, activity_id: int) -> dict:
        payload = dict(self._payloads[activity_id])
        place = self._synthetic.get(activity_id)
        if place is not None:
            payload.update(_generate_extended(payload, self.seed, place))
        return payload

    # ----------------------------------------------------------------------------------------- writing

    def _bump(self, payload: dict) -> None:
        payload["dateUpdatedUTC"] = format_utc(self.clock.now())
        self.version += 1

    def add_activity(self, payload: dict) -> int:
        """Add a full activity object (activityId optional: one is assigned). Returns the id."""
        if not isinstance(payload, dict):
            raise ValueError("an activity must be a JSON object")
        with self._lock:
            payload = dict(payload)
            if payload.get("activityId") in (None, ""):
                payload["activityId"] = self._next_id
            _check_payload(payload, "activity")
            activity_id = int(payload["activityId"])
            if activity_id in self._payloads:
                raise ValueError(f"activityId {activity_id} already exists")
            payload["activityId"] = activity_id
            now = format_utc(self.clock.now())
            payload.setdefault("dateCreatedUTC", now)
            self._payloads[activity_id] = payload
            self._next_id = max(self._next_id, activity_id + 1)
            self._bump(payload)
            return activity_id

    def replace_activity(self, payload: dict) -> int:
        """PUT semantics: replace an existing activity by its activityId (creation time is kept)."""
        with self._lock:
            _check_payload(payload, "activity")
            activity_id = int(payload["activityId"])
            old = self._require(activity_id)
            new = dict(payload, activityId=activity_id)
            new.setdefault("dateCreatedUTC", old.get("dateCreatedUTC"))
            self._payloads[activity_id] = new
            self._synthetic.pop(activity_id, None)  # the caller now owns every field
            self._bump(new)
            return activity_id

    def edit_activity(self, activity_id: int, **changes) -> dict:
        """Change payload fields (``edit_activity(5, distance=3.2, notes="x")``); a value of None removes it."""
        with self._lock:
            payload = self._require(int(activity_id))
            if "activityId" in changes and int(changes["activityId"]) != int(activity_id):
                raise ValueError("activityId cannot be changed")
            for key, value in changes.items():
                if value is None and key not in ("calories", "syncDateTimeUTC"):
                    payload.pop(key, None)
                else:
                    payload[key] = value
            _check_payload(payload, f"activity {activity_id}")
            self._bump(payload)
            return dict(payload)

    def delete_activity(self, activity_id: int) -> None:
        with self._lock:
            payload = self._require(int(activity_id))
            self._deleted.add(int(activity_id))
            self._bump(payload)

    def undelete_activity(self, activity_id: int) -> None:
        with self._lock:
            payload = self._require(int(activity_id))
            self._deleted.discard(int(activity_id))
            self._bump(payload)

    def _require(self, activity_id: int) -> dict:
        try:
            return self._payloads[activity_id]
        except KeyError:
            raise KeyError(f"no activity with id {activity_id}") from None


_NOT_SUMMARY = frozenset(DETAIL_KEYS) | frozenset(EXTENDED_KEYS)


def _check_payload(payload: object, what: str) -> None:
    if not isinstance(payload, dict):
        raise ValueError(f"{what}: must be a JSON object")
    activity_id = payload.get("activityId")
    if isinstance(activity_id, bool) or activity_id in (None, ""):
        raise ValueError(f"{what}: missing activityId")
    try:
        int(activity_id)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: activityId must be an integer, got {activity_id!r}") from None
    start = payload.get("startDateTimeLocal")
    if not isinstance(start, str):
        raise ValueError(f"{what}: missing startDateTimeLocal")
    try:
        parsed = datetime.fromisoformat(start)
    except ValueError:
        raise ValueError(f"{what}: startDateTimeLocal {start!r} is not ISO-8601") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{what}: startDateTimeLocal {start!r} has no UTC offset")


# ------------------------------------------------------------------------------------------ generator

# Day plans. "break" kinds make the streak end; the rest are qualifying days.
REST, SHORT_ONLY, EXACT_1609 = "rest", "short_only", "exact_1609"
NORMAL, TWO_RUNS, TWO_SHORT, SHORT_EXTRA = "normal", "two_runs", "two_short", "short_extra"
TREADMILL, MANUAL, ZERO_DURATION, LATE, EARLY = "treadmill", "manual", "zero_duration", "late", "early"
BREAK_KINDS = (REST, SHORT_ONLY, EXACT_1609)
# Optional day kinds with their daily probability; each is also forced to occur at least once.
_DAY_KIND_ODDS = ((TWO_RUNS, 0.04), (TWO_SHORT, 0.012), (SHORT_EXTRA, 0.025), (TREADMILL, 0.07),
                  (MANUAL, 0.03), (ZERO_DURATION, 0.003), (LATE, 0.015), (EARLY, 0.01))
_WEATHER = ("clear", "clear", "partlycloudy", "partlycloudy", "cloudy", "drizzle", "extremerain", "storm",
            "extremewind", "extremecold")
_NOTES = ("", "", "", "", "", "", "easy", "felt great", "windy out there", "with the dog", "recovery jog")


@dataclass
class _RunSpec:
    place: Place
    local: datetime  # aware, in the place's zone
    kind: str        # "gps" | "treadmill" | "manual"
    distance: float  # km
    duration: float  # moving seconds
    is_race: bool = False


class _SyntheticHistory:
    def __init__(self, athlete: Athlete, years: int, seed: int, today: date | None):
        if int(years) < 1:
            raise ValueError("years must be at least 1")
        self.athlete = athlete
        self.rng = random.Random(seed)
        self.now = athlete.clock.now()
        self.today = today or self.now.astimezone(_ZONES[HOME_ZONE]).date()
        self.start = _years_before(self.today, int(years)) + timedelta(days=1)
        self.days = [self.start + timedelta(days=i) for i in range((self.today - self.start).days + 1)]

    def generate(self) -> None:
        places = self._plan_travel()
        kinds = self._plan_kinds(places)
        rng = self.rng
        next_id = 10_000_000 + rng.randrange(1000)
        payloads = self.athlete._payloads
        for index, day in enumerate(self.days):
            for spec in self._runs_for(day, kinds[index], places[index]):
                next_id += rng.randint(1, 40)
                payload = self._summary(next_id, spec)
                if payload is not None:
                    payloads[next_id] = payload
                    self.athlete._synthetic[next_id] = spec.place
        self.athlete._next_id = next_id + 1

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
            return [self._spec(place, day, time(7, rng.randrange(60)), "gps", first),
                    self._spec(place, day, time(18, rng.randrange(60)), "gps", second)]
        if kind == TWO_RUNS:
            return [self._spec(place, day, time(6, rng.randrange(60)), "gps", self._distance(day)),
                    self._spec(place, day, time(18, rng.randrange(60)),
                               "treadmill" if rng.random() < 0.3 else "gps", rng.uniform(3, 8))]
        if kind == SHORT_EXTRA:
            return [self._spec(place, day, time(6, rng.randrange(60)), "gps", self._distance(day)),
                    self._spec(place, day, time(17, rng.randrange(60)), "gps", rng.uniform(0.5, 1.5))]
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
        start = self._morning() if day == self.today or rng.random() < 0.7 else time(17 + rng.randrange(3),
                                                                                           rng.randrange(60))
        return [self._spec(place, day, start, "gps", distance, is_race)]

    def _morning(self) -> time:
        minutes = self.rng.randrange(5 * 60 + 30, 7 * 60 + 45)
        return time(minutes // 60, minutes % 60)

    def _distance(self, day: date) -> float:
        if day.weekday() == 6:  # Sunday long run
            return self.rng.uniform(14, 30)
        return self.rng.uniform(3.5, 12)

    def _spec(self, place: Place, day: date, start: time, kind: str, distance: float,
              is_race: bool = False) -> _RunSpec:
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
        distance = _number(spec.distance, 5, integral=manual and spec.distance == int(spec.distance))
        payload: dict = {
            "activityId": activity_id,
            "activityType": "running",
            "duration": _number(spec.duration, 3, integral=integral),
            "distance": distance,
            "calories": None if rng.random() < 0.25 else int(spec.distance * rng.uniform(60, 75)),
            "notes": rng.choice(_NOTES),
            "startDateTimeLocal": format_local(spec.local),
        }
        if manual:
            payload.update(externalId="", source="manual", appVersion="", deviceType="", hasDetails=0,
                           hasDetailsGPS=0)
        else:
            payload.update(externalId=str(rng.randrange(10**9, 10**10)),
                           source=rng.choice(("garminhealth", "garminhealth", "garminpush")),
                           appVersion=rng.choice(("20.04", "19.20", "7")), deviceType="Garmin",
                           hasDetails=1, hasDetailsGPS=1 if spec.kind == "gps" else 0)
            if spec.kind == "gps":
                payload.update(startLatitude=round(spec.place.latitude + rng.uniform(-0.02, 0.02), 6),
                               startLongitude=round(spec.place.longitude + rng.uniform(-0.02, 0.02), 6))
            if rng.random() < 0.9:
                average = rng.randint(128, 162)
                payload.update(heartRateMax=average + rng.randint(8, 25), heartRateMin=rng.randint(60, 100),
                               heartRateAverage=average)
            cadence = rng.randint(165, 182)
            payload["cadenceMax"] = cadence + rng.randint(5, 20)
            if rng.random() < 0.9:  # cadenceMin is sometimes missing on its own
                payload["cadenceMin"] = rng.randint(90, 150)
            payload["cadenceAverage"] = cadence
            if spec.kind == "gps":
                temperature = _temperature(spec.local, spec.place, rng)
                wind = rng.randint(0, 40)
                payload.update(weatherType=rng.choice(_WEATHER), temperature=round(temperature, 2),
                               humidity=rng.randint(20, 100), windSpeed=wind,
                               temperatureApparent=round(temperature - wind / 10, 2),
                               temperatureWindChill=round(temperature - wind / 6, 2))
            payload.update(howFelt="none", terrain="treadmill" if spec.kind == "treadmill" else "none")
        payload.update(isRace=int(spec.is_race), isTreadmill=int(spec.kind == "treadmill"),
                       isBadHR=int(rng.random() < 0.02), isBadElevation=int(rng.random() < 0.02))
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
        payload.update(syncDateTimeUTC=sync, dateCreatedUTC=format_utc(_coarsen(created, rng)),
                       dateUpdatedUTC=format_utc(_coarsen(max(updated, created), rng)))
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
    return (datetime.combine(day, time(0), zone).utcoffset()
            != datetime.combine(day + timedelta(days=1), time(0), zone).utcoffset())


def _temperature(local: datetime, place: Place, rng: random.Random) -> float:
    season = math.cos((local.timetuple().tm_yday - 200) / 365.25 * 2 * math.pi)
    if place.latitude < 0:
        season = -season
    return 13 + 13 * season + rng.uniform(-6, 6)


# ------------------------------------------------------------------------- lazy extended and details


def _detail_rng(seed: int | None, activity_id: int, what: str) -> random.Random:
    return random.Random(f"{seed}:{activity_id}:{what}")  # str seeds hash deterministically (sha512)


def moon_phase(day: date) -> float:
    """0.0 new → 0.5 full → 1.0 new, from the mean synodic month (good to about a day)."""
    days = (day - date(2000, 1, 6)).days  # a new moon
    return round((days / 29.530588853) % 1.0, 2)


def _generate_extended(payload: dict, seed: int | None, place: Place) -> dict:
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
        hours=(local.utcoffset().total_seconds() / 3600) - place.longitude / 15)
    extended["sunriseLocal"] = format_local(noon - timedelta(hours=half_day_h))
    extended["sunsetLocal"] = format_local(noon + timedelta(hours=half_day_h))
    extended["moonPhase"] = moon_phase(local.date())
    if payload.get("hasDetailsGPS"):
        gain = rng.randint(5, 40) * max(1, int(float(payload.get("distance") or 0)))
        loss = max(0, gain + rng.randint(-15, 15))
        low = rng.randint(0, 250)
        extended.update(elevationGain=gain, elevationLoss=loss, elevationAscent=gain, elevationDescent=loss,
                        elevationMin=low, elevationNet=gain - loss, countryCode=place.country_code,
                        country=place.country, city=place.city, state=place.state)
    extended["isCooperTest"] = 0
    return extended


def _generate_details(full: dict, seed: int | None, place: Place) -> dict:
    """recordingKeys/Values (column-major), pauseIndexes, laps, songs, heartRateRecovery, from the summary."""
    details = {"recordingKeys": [], "recordingValues": [], "pauseIndexes": [], "laps": [], "songs": None,
               "heartRateRecovery": None}
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
        values.append([max(50, int(average - 25 * math.exp(-i / 40) + rng.randint(-4, 4)))
                       for i in range(count)])
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
        details["songs"] = [{"album": "Sandbox Hits", "artist": "The Synthetics", "song": f"Track {n + 1}",
                             "BPM": 170 + n, "startClock": n * 200, "endClock": (n + 1) * 200}
                            for n in range(min(3, int(moving // 200)))]
    return details


def _laps(moving_t: list[float], cumulative: list[float], rng: random.Random) -> list[dict]:
    """Auto-laps every km, or an interval session (warmup / work+recovery / cooldown) by time."""
    total_time, total_km = moving_t[-1], cumulative[-1]
    laps: list[dict] = []
    if rng.random() < 0.7 or total_time < 1500:
        for km in range(1, int(total_km) + 1):
            if km < total_km:
                laps.append({"lapType": "general", "endDuration": int(_interpolate(km, cumulative, moving_t)),
                             "endDistance": float(km)})
        last_type = "general"
    else:
        marks, t = [(600, "warmup")], 600
        while t + 300 < total_time - 600:
            marks += [(t + 180, "work"), (t + 300, "recovery")]
            t += 300
        for end, lap_type in marks:
            laps.append({"lapType": lap_type, "endDuration": end,
                         "endDistance": round(_interpolate(end, moving_t, cumulative), 5)})
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
