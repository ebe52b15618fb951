"""Pydantic v2 models of SmashRun payloads (plain Python: no Dagster, no database)."""

from __future__ import annotations

from myrunstreak_pipeline.models.activity import Activity, ActivityBrief
from myrunstreak_pipeline.models.enums import ActivityType, DeviceType, HowFelt, LapType, Terrain, WeatherType
from myrunstreak_pipeline.models.fields import format_validation_error
from myrunstreak_pipeline.models.nested import HeartRateRecovery, Lap, Song

__all__ = [
    "Activity",
    "ActivityBrief",
    "ActivityType",
    "DeviceType",
    "HeartRateRecovery",
    "HowFelt",
    "Lap",
    "LapType",
    "Song",
    "Terrain",
    "WeatherType",
    "format_validation_error",
]
