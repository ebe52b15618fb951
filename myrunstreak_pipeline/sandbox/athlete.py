"""The sandbox's athlete: a controllable clock and the activity state the server serves.

``Athlete.synthetic(years, seed, clock, today)`` holds a generated history (history.py) whose extended fields
and recordings are generated lazily (details.py); ``Athlete.from_payloads`` holds activities given as JSON
(``myrunstreak sandbox --data``). Tests change the state directly (``edit_activity``, ``delete_activity``...);
every change bumps the activity's ``dateUpdatedUTC`` and the athlete's ``version``. Payloads follow the real
SmashRun serialisation (docs/smashrun-api.md §5 and §10 D).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

from myrunstreak_pipeline.sandbox.details import generate_details, generate_extended
from myrunstreak_pipeline.sandbox.formats import format_utc
from myrunstreak_pipeline.sandbox.history import HOME, Place, generate_history

UTC = UTC

# Keys that only the full activity carries, and the "extended" keys (§5.3): everything else is summary.
DETAIL_KEYS = ("recordingKeys", "recordingValues", "pauseIndexes", "laps", "songs", "heartRateRecovery")
EXTENDED_KEYS = (
    "speedVariability",
    "sunriseLocal",
    "sunsetLocal",
    "moonPhase",
    "elevationGain",
    "elevationLoss",
    "elevationAscent",
    "elevationDescent",
    "elevationMin",
    "elevationNet",
    "countryCode",
    "country",
    "city",
    "state",
    "isCooperTest",
)
_NOT_SUMMARY = frozenset(DETAIL_KEYS) | frozenset(EXTENDED_KEYS)


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


class Athlete:
    """The sandbox user's activities. Thread-safe; every change bumps ``version`` (the server caches on it).

    ``activities`` lists every activity (deleted ones included; the flag is kept internally, see
    ``deleted_ids`` / ``is_deleted``), each a summary+extended payload dict as the API would send it.
    """

    def __init__(
        self, clock: SandboxClock, *, seed: int | None = None, user_name: str = "sandbox-runner", home: Place = HOME
    ):
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
    def from_payloads(cls, payloads: list[dict], clock: SandboxClock, *, user_name: str = "sandbox-runner") -> Athlete:
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
    def synthetic(cls, years: int, seed: int, clock: SandboxClock, today: date | None = None) -> Athlete:
        """A deterministic athlete whose history ends on ``today`` (default: today on the clock, home zone)."""
        athlete = cls(clock, seed=seed, user_name="synthetic-runner")
        runs, athlete._next_id = generate_history(years, seed, clock.now(), today)
        for payload, place in runs:
            athlete._payloads[payload["activityId"]] = payload
            athlete._synthetic[payload["activityId"]] = place
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
            items = [
                (start(payload), activity_id)
                for activity_id, payload in self._payloads.items()
                if include_deleted or activity_id not in self._deleted
            ]
        items.sort(reverse=True)
        return [activity_id for _, activity_id in items]

    def listing(
        self, keys: tuple[str, ...] | None = None, *, extended: bool = False, by_instant: bool = False
    ) -> tuple[int, list[dict]]:
        """``(version, payloads)``: the live activities ordered like ``sorted_ids``, read in one consistent step;
        each its summary (plus the extended fields with ``extended=True``) or, given ``keys`` (summary keys),
        just those (None where absent), which is much cheaper for 20,000 activities."""
        with self._lock:
            ids = self.sorted_ids(by_instant=by_instant)
            if keys is not None:
                return self.version, [{key: self._payloads[i].get(key) for key in keys} for i in ids]
            view = self.extended if extended else self.summary
            return self.version, [view(activity_id) for activity_id in ids]

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
            full.update(generate_details(full, self.seed, place))
        for key in DETAIL_KEYS:
            full.setdefault(key, None if key in ("songs", "heartRateRecovery") else [])
        return full

    def _with_extended(self, activity_id: int) -> dict:
        payload = dict(self._payloads[activity_id])
        place = self._synthetic.get(activity_id)
        if place is not None:
            payload.update(generate_extended(payload, self.seed, place))
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
