"""The SmashRun activity, faithful to real payloads: summary, extended and detail keys.

Units follow SmashRun: distance km, duration s (moving time), temperatures °C, wind km/h. Field names carry the
unit where SmashRun's key does not (``distance`` -> ``distance_km``), matching the ``runs`` table columns.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, Field, Strict, field_serializer, model_validator
from pydantic_core import PydanticCustomError

from myrunstreak_pipeline.models import bounds as b
from myrunstreak_pipeline.models.enums import ActivityType, DeviceType, HowFelt, Open, Terrain, WeatherType
from myrunstreak_pipeline.models.fields import (
    PAYLOAD_CONFIG,
    ActivityId,
    Flag,
    Integer,
    LocalText,
    LocalTimestamp,
    Notes,
    Number,
    Text,
    UtcTimestamp,
)
from myrunstreak_pipeline.models.nested import HeartRate, HeartRateRecovery, Lap, Song

NO_FIX = -1.0  # SmashRun's latitude/longitude sentinel for "no GPS fix" in recordings
_NO_FIX_KEYS = frozenset({"latitude", "longitude"})

CADENCE = {"ge": 0, "le": b.MAX_CADENCE}  # steps/min
AIR = {"ge": b.MIN_TEMPERATURE_C, "le": b.MAX_TEMPERATURE_C}
FEELS_LIKE = {"ge": b.MIN_FEELS_LIKE_C, "le": b.MAX_FEELS_LIKE_C}
CLIMB = {"ge": 0, "le": b.MAX_ELEVATION_GAIN_M}

RecordingKey = Annotated[str, Strict(), Field(max_length=b.MAX_KEY_CHARS)]
Series = Annotated[list[Number | None], Strict(), Field(max_length=b.MAX_RECORDING_SAMPLES)]
PauseIndex = Annotated[Integer, Field(ge=0, le=b.MAX_RECORDING_SAMPLES)]


def _opt(alias: str, **constraints: Any) -> Any:
    return Field(default=None, alias=alias, **constraints)


def _list(alias: str | None, max_items: int) -> Any:
    """An optional list field: a JSON array (no tuple, set or generator turned into one) of bounded length."""
    return Field(default=None, alias=alias, max_length=max_items, strict=True)


class Activity(BaseModel):
    """One SmashRun activity.

    Required: ``activityId``, ``startDateTimeLocal`` (with offset), ``distance``, ``duration``. Every number is a
    JSON number within the bounds of ``bounds.py`` (docs/validation-bounds.md).
    """

    model_config = PAYLOAD_CONFIG

    # --- summary (GET /my/activities, /search) ---
    activity_id: ActivityId = Field(alias="activityId")
    activity_type: Open[ActivityType] | None = _opt("activityType")
    start_date_time_local: LocalTimestamp = Field(alias="startDateTimeLocal")
    distance_km: Number = Field(alias="distance", ge=b.MIN_DISTANCE_KM, le=b.MAX_DISTANCE_KM)
    # 0 occurs in real data: valid, pace unknown
    duration_seconds: Number = Field(alias="duration", ge=0, le=b.MAX_DURATION_SECONDS)
    calories: Integer | None = Field(default=None, ge=0, le=b.MAX_CALORIES)
    notes: Notes | None = None
    external_id: Text | None = _opt("externalId")
    source: Text | None = None
    app_version: Text | None = _opt("appVersion")
    device_type: Open[DeviceType] | None = _opt("deviceType")
    has_details: Flag | None = _opt("hasDetails")
    has_details_gps: Flag | None = _opt("hasDetailsGPS")
    start_latitude: Number | None = _opt("startLatitude", ge=-90, le=90)
    start_longitude: Number | None = _opt("startLongitude", ge=-180, le=180)
    heart_rate_average: HeartRate | None = _opt("heartRateAverage")
    heart_rate_min: HeartRate | None = _opt("heartRateMin")
    heart_rate_max: HeartRate | None = _opt("heartRateMax")
    cadence_average: Integer | None = _opt("cadenceAverage", **CADENCE)
    cadence_min: Integer | None = _opt("cadenceMin", **CADENCE)
    cadence_max: Integer | None = _opt("cadenceMax", **CADENCE)
    body_weight_kg: Number | None = _opt("bodyWeight", ge=b.MIN_BODY_WEIGHT_KG, le=b.MAX_BODY_WEIGHT_KG)
    how_felt: Open[HowFelt] | None = _opt("howFelt")
    terrain: Open[Terrain] | None = None
    weather_type: Open[WeatherType] | None = _opt("weatherType")
    temperature_celsius: Number | None = _opt("temperature", **AIR)
    temperature_apparent_celsius: Number | None = _opt("temperatureApparent", **FEELS_LIKE)
    temperature_wind_chill_celsius: Number | None = _opt("temperatureWindChill", **FEELS_LIKE)
    humidity_percent: Integer | None = _opt("humidity", ge=0, le=100)
    wind_speed_kph: Integer | None = _opt("windSpeed", ge=0, le=b.MAX_WIND_KPH)
    is_race: Flag | None = _opt("isRace")
    is_treadmill: Flag | None = _opt("isTreadmill")
    is_bad_hr: Flag | None = _opt("isBadHR")
    is_bad_elevation: Flag | None = _opt("isBadElevation")
    sync_date_time_utc: UtcTimestamp | None = _opt("syncDateTimeUTC")
    created_at_utc: UtcTimestamp | None = _opt("dateCreatedUTC")
    updated_at_utc: UtcTimestamp | None = _opt("dateUpdatedUTC")

    # --- extended (/search/extended and the full activity) ---
    is_cooper_test: Flag | None = _opt("isCooperTest")
    elevation_gain_m: Number | None = _opt("elevationGain", **CLIMB)
    elevation_loss_m: Number | None = _opt("elevationLoss", **CLIMB)
    elevation_ascent_m: Number | None = _opt("elevationAscent", **CLIMB)
    elevation_descent_m: Number | None = _opt("elevationDescent", **CLIMB)
    elevation_min_m: Number | None = _opt("elevationMin", ge=b.MIN_ELEVATION_M, le=b.MAX_ELEVATION_M)
    elevation_net_m: Number | None = _opt("elevationNet", ge=-b.MAX_ELEVATION_NET_M, le=b.MAX_ELEVATION_NET_M)
    speed_variability: Number | None = _opt("speedVariability", ge=0, le=b.MAX_SPEED_VARIABILITY)
    moon_phase: Number | None = _opt("moonPhase", ge=0, le=1)
    sunrise_local: LocalText | None = _opt("sunriseLocal")
    sunset_local: LocalText | None = _opt("sunsetLocal")
    country_code: Text | None = _opt("countryCode")
    country: Text | None = None
    state: Text | None = None
    city: Text | None = None

    # --- detail only (GET /my/activities/{id}) ---
    recording_keys: list[RecordingKey] | None = _list("recordingKeys", b.MAX_RECORDING_KEYS)
    recording_values: list[Series] | None = _list("recordingValues", b.MAX_RECORDING_KEYS)
    pause_indexes: list[PauseIndex] | None = _list("pauseIndexes", b.MAX_RECORDING_SAMPLES)
    laps: list[Lap] | None = _list(None, b.MAX_LAPS)
    songs: list[Song] | None = _list(None, b.MAX_SONGS)
    heart_rate_recovery: list[HeartRateRecovery] | None = _list("heartRateRecovery", b.MAX_HEART_RATE_RECOVERY)

    @model_validator(mode="after")
    def _consistent(self) -> Activity:
        duration, distance = self.duration_seconds, self.distance_km
        if duration > 0:
            pace = duration / 60.0 / distance
            if distance > b.PACE_RULE_MIN_KM and pace < b.MIN_PACE_MIN_PER_KM:
                raise PydanticCustomError(
                    "impossible_pace", "distance/duration: pace faster than 1:30 min/km over more than 1 km"
                )
            if pace < b.MIN_PACE_ANY_DISTANCE_MIN_PER_KM:
                raise PydanticCustomError("impossible_pace", "distance/duration: faster than 60 km/h")
        if (self.recording_keys is None) != (self.recording_values is None):
            raise PydanticCustomError(
                "recording_mismatch", "recordingKeys/recordingValues: one is present without the other"
            )
        if self.recording_keys is not None:
            self._check_and_clean_recordings()
        return self

    def _check_and_clean_recordings(self) -> None:
        keys, series = self.recording_keys, self.recording_values
        if len(keys) != len(series):
            raise PydanticCustomError(
                "recording_mismatch", "recordingValues: one series per recordingKeys entry is required"
            )
        if len(set(keys)) != len(keys):
            raise PydanticCustomError("recording_mismatch", "recordingKeys: duplicate keys")
        if len({len(values) for values in series}) > 1:
            raise PydanticCustomError("recording_mismatch", "recordingValues: all series must have equal length")
        for index, key in enumerate(keys):
            limits = b.RECORDING_BOUNDS.get(key)
            present = [value for value in series[index] if value is not None]
            if limits is not None and present and not (limits[0] <= min(present) and max(present) <= limits[1]):
                raise PydanticCustomError(
                    "recording_bounds",
                    f"recordingValues.{index}: {key} samples must be between {limits[0]:g} and {limits[1]:g}",
                )
            if key in _NO_FIX_KEYS:  # column-major: the whole latitude/longitude series, -1 = no fix
                series[index] = [None if value == NO_FIX else value for value in series[index]]

    @field_serializer("recording_values", when_used="unless-none")
    def _restore_no_fix(self, series: list[list[float | None]]) -> list[list[float | None]]:
        keys = self.recording_keys or []
        return [
            [NO_FIX if value is None else value for value in values] if key in _NO_FIX_KEYS else values
            for key, values in zip(keys, series)
        ]

    # --- derived values (never stored in the payload shape) ---
    @property
    def local_date(self) -> date:
        """The run's local calendar date, from ``startDateTimeLocal`` itself (never the machine's zone)."""
        return self.start_date_time_local.date()

    @property
    def start_time_local(self) -> datetime:
        """Local wall-clock start time, naive (offset removed)."""
        return self.start_date_time_local.replace(tzinfo=None)

    @property
    def utc_offset_minutes(self) -> int:
        return int(self.start_date_time_local.utcoffset() // timedelta(minutes=1))

    @property
    def start_time_utc(self) -> datetime:
        """The UTC instant of the start, naive (UTC)."""
        return self.start_time_local - timedelta(minutes=self.utc_offset_minutes)

    @property
    def pace_min_per_km(self) -> float | None:
        """Minutes per km; ``None`` for a run with ``duration`` 0."""
        return self.duration_seconds / 60.0 / self.distance_km if self.duration_seconds > 0 else None

    @property
    def speed_kph(self) -> float | None:
        """km/h; ``None`` for a run with ``duration`` 0."""
        return self.distance_km / self.duration_seconds * 3600.0 if self.duration_seconds > 0 else None

    @property
    def sample_count(self) -> int:
        return len(self.recording_values[0]) if self.recording_values else 0

    @property
    def unknown_enum_values(self) -> dict[str, str]:
        """Enum-typed fields whose value SmashRun sent but this code does not know (kept verbatim)."""
        found = {}
        for name in ("activity_type", "device_type", "how_felt", "terrain", "weather_type"):
            value = getattr(self, name)
            if value is not None and type(value) is str:
                found[name] = value
        for lap in self.laps or ():
            if lap.lap_type is not None and type(lap.lap_type) is str:
                found.setdefault("laps.lap_type", lap.lap_type)
        return found

    def to_payload(self) -> dict[str, Any]:
        """The API shape: SmashRun's keys, flags as 0/1, timestamps as SmashRun formats them, the id as the JSON
        integer SmashRun sends (a string only when the stored id is not a plain int64)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class ActivityBrief(BaseModel):
    """``/search/briefs``: id, start, distance, duration. Accepts ``activityId/startDateTimeLocal`` (real
    payloads) and ``runId/startTime`` (the spelling in one client's docs and a fixture)."""

    model_config = PAYLOAD_CONFIG

    activity_id: ActivityId = Field(
        validation_alias=AliasChoices("activityId", "runId", "activity_id"), serialization_alias="activityId"
    )
    start_date_time_local: LocalTimestamp = Field(
        validation_alias=AliasChoices("startDateTimeLocal", "startTime", "start_date_time_local"),
        serialization_alias="startDateTimeLocal",
    )
    distance_km: Number = Field(alias="distance", ge=0, le=b.MAX_DISTANCE_KM)
    duration_seconds: Number = Field(alias="duration", ge=0, le=b.MAX_DURATION_SECONDS)

    @property
    def local_date(self) -> date:
        return self.start_date_time_local.date()
