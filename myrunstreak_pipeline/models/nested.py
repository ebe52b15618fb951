"""Objects nested inside a full SmashRun activity: laps, songs, heart-rate recovery samples."""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, BaseModel, Field

from myrunstreak_pipeline.models.bounds import (
    MAX_CLOCK_SECONDS,
    MAX_DISTANCE_KM,
    MAX_DURATION_SECONDS,
    MAX_HEART_RATE,
    MAX_RECOVERY_SECONDS,
    MAX_SONG_BPM,
    MIN_HEART_RATE,
)
from myrunstreak_pipeline.models.enums import LapType, Open
from myrunstreak_pipeline.models.fields import PAYLOAD_CONFIG, Integer, Number, Text

HeartRate = Annotated[Integer, Field(ge=MIN_HEART_RATE, le=MAX_HEART_RATE)]


class Lap(BaseModel):
    """One lap. ``endDuration`` (s) and ``endDistance`` (km) are cumulative from the start of the run.

    Real payloads say ``endDuration``; the seed and one fixture say ``endTime``: both are accepted.
    """

    model_config = PAYLOAD_CONFIG

    lap_type: Open[LapType] | None = Field(default=None, alias="lapType")
    end_duration_seconds: Number | None = Field(
        default=None,
        ge=0,
        le=MAX_DURATION_SECONDS,
        validation_alias=AliasChoices("endDuration", "endTime", "end_duration_seconds"),
        serialization_alias="endDuration",
    )
    end_distance_km: Number | None = Field(default=None, ge=0, le=MAX_DISTANCE_KM, alias="endDistance")


class Song(BaseModel):
    model_config = PAYLOAD_CONFIG

    album: Text | None = None
    artist: Text | None = None
    song: Text | None = None
    bpm: Number | None = Field(default=None, ge=0, le=MAX_SONG_BPM, alias="BPM")
    start_clock: Number | None = Field(default=None, ge=0, le=MAX_CLOCK_SECONDS, alias="startClock")
    end_clock: Number | None = Field(default=None, ge=0, le=MAX_CLOCK_SECONDS, alias="endClock")


class HeartRateRecovery(BaseModel):
    """Heart rate ``duration`` seconds after the finish."""

    model_config = PAYLOAD_CONFIG

    duration: Number | None = Field(default=None, ge=0, le=MAX_RECOVERY_SECONDS)
    heart_rate: HeartRate | None = Field(default=None, alias="heartRate")
