"""The SmashRun activity, faithful to real payloads: summary, extended and detail keys.

Units follow SmashRun: distance km, duration s (moving time), temperatures °C, wind km/h. Field names carry the
unit where SmashRun's key does not (``distance`` -> ``distance_km``), matching the ``runs`` table columns.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, field_serializer, field_validator, model_validator
from pydantic_core import PydanticCustomError

from myrunstreak_pipeline.models.enums import ActivityType, DeviceType, HowFelt, Open, Terrain, WeatherType
from myrunstreak_pipeline.models.fields import (
    PAYLOAD_CONFIG,
    ActivityId,
    Flag,
    HeartRate,
    LocalTimestamp,
    NonNegativeInt32,
    UtcTimestamp,
)
from myrunstreak_pipeline.models.nested import HeartRateRecovery, Lap, Song

MIN_PACE_MIN_PER_KM = 1.5  # 1:30 min/km: faster than any human over more than 1 km
MIN_YEAR, MAX_YEAR = (1900, 2100)  # plausible run dates; also keeps every UTC conversion in range
NO_FIX = -1.0  # SmashRun's latitude/longitude sentinel for "no GPS fix" in recordings
_NO_FIX_KEYS = frozenset({"latitude", "longitude"})

CADENCE = {"ge": 0, "le": 400}  # steps/min


def _opt(alias: str, **constraints: Any) -> Any:
    return Field(default=None, alias=alias, **constraints)


class Activity(BaseModel):
    """One SmashRun activity.

    Required: ``activityId``, ``startDateTimeLocal`` (with offset), ``distance``, ``duration``.
    """

    model_config = PAYLOAD_CONFIG

    # --- summary (GET /my/activities, /search) ---
    activity_id: ActivityId = Field(alias="activityId")
    activity_type: Open[ActivityType] | None = _opt("activityType")
    start_date_time_local: LocalTimestamp = Field(alias="startDateTimeLocal")
    distance_km: float = Field(alias="distance", gt=0)
    duration_seconds: float = Field(alias="duration", ge=0)  # 0 occurs in real data: valid, pace unknown
    calories: NonNegativeInt32 | None = None
    notes: str | None = None
    external_id: str | None = _opt("externalId")
    source: str | None = None
    app_version: str | None = _opt("appVersion")
    device_type: Open[DeviceType] | None = _opt("deviceType")
    has_details: Flag | None = _opt("hasDetails")
    has_details_gps: Flag | None = _opt("hasDetailsGPS")
    start_latitude: float | None = _opt("startLatitude", ge=-90, le=90)
    start_longitude: float | None = _opt("startLongitude", ge=-180, le=180)
    heart_rate_average: HeartRate | None = _opt("heartRateAverage")
    heart_rate_min: HeartRate | None = _opt("heartRateMin")
    heart_rate_max: HeartRate | None = _opt("heartRateMax")
    cadence_average: int | None = _opt("cadenceAverage", **CADENCE)
    cadence_min: int | None = _opt("cadenceMin", **CADENCE)
    cadence_max: int | None = _opt("cadenceMax", **CADENCE)
    body_weight_kg: float | None = _opt("bodyWeight", gt=0, le=700)
    how_felt: Open[HowFelt] | None = _opt("howFelt")
    terrain: Open[Terrain] | None = None
    weather_type: Open[WeatherType] | None = _opt("weatherType")
    temperature_celsius: float | None = _opt("temperature", ge=-100, le=100)
    temperature_apparent_celsius: float | None = _opt("temperatureApparent", ge=-100, le=100)
    temperature_wind_chill_celsius: float | None = _opt("temperatureWindChill", ge=-100, le=100)
    humidity_percent: int | None = _opt("humidity", ge=0, le=100)
    wind_speed_kph: NonNegativeInt32 | None = _opt("windSpeed")
    is_race: Flag | None = _opt("isRace")
    is_treadmill: Flag | None = _opt("isTreadmill")
    is_bad_hr: Flag | None = _opt("isBadHR")
    is_bad_elevation: Flag | None = _opt("isBadElevation")
    sync_date_time_utc: UtcTimestamp | None = _opt("syncDateTimeUTC")
    created_at_utc: UtcTimestamp | None = _opt("dateCreatedUTC")
    updated_at_utc: UtcTimestamp | None = _opt("dateUpdatedUTC")

    # --- extended (/search/extended and the full activity) ---
    is_cooper_test: Flag | None = _opt("isCooperTest")
    elevation_gain_m: float | None = _opt("elevationGain")
    elevation_loss_m: float | None = _opt("elevationLoss")
    elevation_ascent_m: float | None = _opt("elevationAscent")
    elevation_descent_m: float | None = _opt("elevationDescent")
    elevation_min_m: float | None = _opt("elevationMin")
    elevation_net_m: float | None = _opt("elevationNet")
    speed_variability: float | None = _opt("speedVariability")
    moon_phase: float | None = _opt("moonPhase", ge=0, le=1)
    sunrise_local: str | None = _opt("sunriseLocal")
    sunset_local: str | None = _opt("sunsetLocal")
    country_code: str | None = _opt("countryCode")
    country: str | None = None
    state: str | None = None
    city: str | None = None

    # --- detail only (GET /my/activities/{id}) ---
    recording_keys: list[str] | None = _opt("recordingKeys")
    recording_values: list[list[float | None]] | None = _opt("recordingValues")
    pause_indexes: list[NonNegativeInt32] | None = _opt("pauseIndexes")
    laps: list[Lap] | None = None
    songs: list[Song] | None = None
    heart_rate_recovery: list[HeartRateRecovery] | None = _opt("heartRateRecovery")

    @field_validator("start_date_time_local")
    @classmethod
    def _plausible_start(cls, value: datetime) -> datetime:
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(f"year must be between {MIN_YEAR} and {MAX_YEAR}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Activity:
        duration, distance = self.duration_seconds, self.distance_km
        if duration > 0 and distance > 1 and duration / 60.0 / distance < MIN_PACE_MIN_PER_KM:
            raise PydanticCustomError(
                "impossible_pace", "distance/duration: pace faster than 1:30 min/km over more than 1 km"
            )
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
        """The API shape: SmashRun's keys, flags as 0/1, timestamps as SmashRun formats them."""
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
    distance_km: float = Field(alias="distance", ge=0)
    duration_seconds: float = Field(alias="duration", ge=0)

    @property
    def local_date(self) -> date:
        return self.start_date_time_local.date()
