"""Objects nested inside a full SmashRun activity: laps, songs, heart-rate recovery samples."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field

from myrunstreak_pipeline.models.enums import LapType, Open
from myrunstreak_pipeline.models.fields import PAYLOAD_CONFIG, HeartRate


class Lap(BaseModel):
    """One lap. ``endDuration`` (s) and ``endDistance`` (km) are cumulative from the start of the run.

    Real payloads say ``endDuration``; the seed and one fixture say ``endTime``: both are accepted.
    """

    model_config = PAYLOAD_CONFIG

    lap_type: Open[LapType] | None = Field(default=None, alias="lapType")
    end_duration_seconds: float | None = Field(
        default=None,
        ge=0,
        validation_alias=AliasChoices("endDuration", "endTime", "end_duration_seconds"),
        serialization_alias="endDuration",
    )
    end_distance_km: float | None = Field(default=None, ge=0, alias="endDistance")


class Song(BaseModel):
    model_config = PAYLOAD_CONFIG

    album: str | None = None
    artist: str | None = None
    song: str | None = None
    bpm: float | None = Field(default=None, ge=0, alias="BPM")
    start_clock: float | None = Field(default=None, ge=0, alias="startClock")
    end_clock: float | None = Field(default=None, ge=0, alias="endClock")


class HeartRateRecovery(BaseModel):
    """Heart rate ``duration`` seconds after the finish."""

    model_config = PAYLOAD_CONFIG

    duration: float | None = Field(default=None, ge=0)
    heart_rate: HeartRate | None = Field(default=None, alias="heartRate")
