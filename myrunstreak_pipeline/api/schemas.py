"""The query API's response models (design.md §6): FastAPI documents them in /openapi.json."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseInfo(_Model):
    etag: str = Field(description="the database version (S3 ETag, or a hash of the local file's mtime/size)")
    size_bytes: int | None
    last_sync_utc: dt.datetime | None = Field(description="when the pipeline last stored a sync cursor")


class Health(_Model):
    status: Literal["ok"]
    schema_version: int
    database: DatabaseInfo
    runs: int = Field(
        description="the runs /v1/runs lists: live (not deleted upstream), every sport, a run recorded by two "
        "sources once"
    )


class Rule(_Model):
    min_km: float
    mode: Literal["sum", "strict"]


class CurrentStreak(_Model):
    days: int
    start: dt.date | None
    end: dt.date | None
    status: Literal["active", "at_risk", "broken"]
    days_only_from_files: int = Field(
        description="days of the current streak whose counted runs all came from activity files (none from SmashRun)"
    )
    override_days: int = Field(
        description="days of the current streak that qualify only thanks to an override (`myrunstreak override`)"
    )


class LongestStreak(_Model):
    days: int
    start: dt.date | None
    end: dt.date | None
    years_days: str | None
    override_days: int = Field(
        description="days of the longest streak that qualify only thanks to an override (`myrunstreak override`)"
    )


class TodayProgress(_Model):
    km: float = Field(description="distance run today (the runner's local day)")
    needed_km: float = Field(description="distance still needed today to keep the streak (0 once it qualifies)")


class Streak(_Model):
    """Exactly ``myrunstreak streak --json`` (design.md §5), plus ``today``."""

    as_of: dt.date
    rule: Rule
    current: CurrentStreak
    longest: LongestStreak
    streak_count: int
    today: TodayProgress


class StreakItem(_Model):
    start: dt.date
    end: dt.date
    days: int
    years_days: str
    km: float


class StreakList(_Model):
    items: list[StreakItem]
    total: int


class Run(_Model):
    activity_id: str
    start_local: dt.datetime = Field(description="local wall-clock start (no offset)")
    date: dt.date = Field(description="the local calendar date the run counts for")
    utc_offset: str = Field(description="the local offset, e.g. +01:00")
    km: float
    miles: float
    seconds: float
    pace_min_per_km: float | None
    activity_type: str | None
    is_treadmill: bool | None
    source: str = Field(
        description="where the record came from: 'smashrun' (a SmashRun sync) or the imported file's format "
        "('fit', 'gpx', 'tcx')"
    )
    app_source: str | None = Field(
        description="SmashRun's own `source` field (the app or device that uploaded the run); `file:<format>` "
        "for an imported file"
    )
    duplicate_of: str | None = Field(
        description="the activity_id of the record kept when this one records the same run (not counted), else null"
    )
    notes: str | None
    weather: str | None
    terrain: str | None
    how_felt: str | None
    heart_rate_average: int | None
    calories: int | None
    updated_utc: dt.datetime | None


class RunPage(_Model):
    items: list[Run]
    next: str | None = Field(description="cursor for the next page (pass as ?after=), null on the last page")


class Lap(_Model):
    lap_number: int
    lap_type: str | None
    end_seconds: float | None
    end_km: float | None


class Recording(_Model):
    points: int
    has_gps: bool
    has_heart_rate: bool


class ActivityFile(_Model):
    format: Literal["fit", "gpx", "tcx"]
    file_name: str = Field(description="as first imported (a path, or archive!member)")
    title: str | None
    sport: str = Field(description="normalised: running, walking, hiking, cycling, swimming, other, unknown")
    sport_raw: str | None = Field(description="as the file stated it")
    zone_source: Literal["file", "gps", "default"] = Field(
        description="how the local date was found: the file's own offset, the zone of the first GPS fix, or "
        "MYRUNSTREAK_TIMEZONE"
    )
    time_zone: str | None = Field(description="IANA zone name when it came from GPS or the default")
    elapsed_seconds: float = Field(description="start to end, pauses included (`seconds` is moving time)")
    device: str | None
    imported_at: dt.datetime


class RunDetail(Run):
    file: ActivityFile | None = Field(description="the imported file this run came from; null for a SmashRun run")
    details_fetched: bool
    laps: list[Lap] | None = Field(description="null until the run's details were fetched")
    recording: Recording | None = Field(description="null until details were fetched, or without a recording")


class Summary(BaseModel):
    """One period of the summary view of the same name (every column of the view; the first five always)."""

    model_config = ConfigDict(extra="allow")
    period: dt.date = Field(description="first day of the period (the day, ISO week's Monday, month, year)")
    runs: int
    km: float
    miles: float
    seconds: float


class SummaryList(_Model):
    items: list[Summary]


class PersonalRecord(_Model):
    record: str
    value: float
    unit: str
    start_date: dt.date
    end_date: dt.date
    activity_id: str | None


class RecordList(_Model):
    items: list[PersonalRecord]


class Trends(BaseModel):
    """The last row of ``distance_trends`` (as of the runner's today, or the last run day before it)."""

    model_config = ConfigDict(extra="allow")
    day: dt.date | None
    rolling_7d_km: float
    rolling_28d_km: float
    rolling_365d_km: float
    month_to_date_km: float
    year_to_date_km: float
    previous_year_to_date_km: float | None
    years: list[dict] = Field(description="year to date on this day of every year with runs, newest first")


class EddingtonUnit(_Model):
    number: int
    next: int
    days_needed: int


class Eddington(_Model):
    km: EddingtonUnit
    miles: EddingtonUnit


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
