"""SmashRun's enumerated string fields, as *open* enums.

SmashRun sends values nobody documented (``partlycloudy``, ``extremerain``, ``none`` ...). A model field typed
``Open[WeatherType]`` holds the enum member when the value is known and the string, verbatim, when it is not:
an unknown value is reported (``unknown_enum_values``), never a reason to reject a run.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import Field, Strict

from myrunstreak_pipeline.models.bounds import MAX_TEXT_CHARS


class ActivityType(StrEnum):
    RUNNING = "running"


class HowFelt(StrEnum):
    NONE = "none"
    UNSTOPPABLE = "unstoppable"
    GREAT = "great"
    SOSO = "soso"
    TIRED = "tired"
    INJURED = "injured"


class Terrain(StrEnum):
    NONE = "none"
    ROAD = "road"
    TRAIL = "trail"
    TRACK = "track"
    TREADMILL = "treadmill"
    BEACH = "beach"
    SNOWPACK = "snowpack"


class WeatherType(StrEnum):
    NONE = "none"
    CLEAR = "clear"
    PARTLY_CLOUDY = "partlycloudy"
    CLOUDY = "cloudy"
    DRIZZLE = "drizzle"
    RAIN = "rain"
    EXTREME_RAIN = "extremerain"
    STORM = "storm"
    SNOW = "snow"
    BLIZZARD = "blizzard"
    EXTREME_WIND = "extremewind"
    EXTREME_COLD = "extremecold"
    INDOOR = "indoor"


class DeviceType(StrEnum):
    """``deviceType`` is free text in real payloads (``Garmin``, ``Garmin - Viv``, ``MapMyRun And``, ``""``)."""

    GARMIN = "Garmin"
    GARMIN_VIV = "Garmin - Viv"
    MAPMYRUN_ANDROID = "MapMyRun And"


class LapType(StrEnum):
    GENERAL = "general"
    WORK = "work"
    RECOVERY = "recovery"
    WARMUP = "warmup"
    COOLDOWN = "cooldown"


E = TypeVar("E", bound=StrEnum)

# Known value -> the member (tried first); anything else -> the string as sent. Values are matched exactly
# (``Unstoppable`` stays a string) so the model dumps back exactly what SmashRun sent. The string must be a real
# string (no number or bool turned into one) of bounded length.
Open = Annotated[E | Annotated[str, Strict(), Field(max_length=MAX_TEXT_CHARS)], Field(union_mode="left_to_right")]

__all__ = ["ActivityType", "DeviceType", "HowFelt", "LapType", "Open", "Terrain", "WeatherType"]
