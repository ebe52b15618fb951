"""Every documented environment variable, read, parsed and validated in one place (pydantic-settings).

``Settings.from_env()`` is the only reader of the environment: entry points (the CLI commands, the Dagster
definitions) call it once and pass the object down. A bad value is a ``SettingsError``: one line naming the
variable and what it must be, plus a hint; the CLI prints it without a traceback. Secret values are never
echoed (not in errors, not in the repr).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings.parsing import iso as _iso
from myrunstreak_pipeline.settings.parsing import number as _number
from myrunstreak_pipeline.settings.parsing import require_http_url as _require_http_url
from myrunstreak_pipeline.settings.parsing import variable as _variable
from myrunstreak_pipeline.settings.parsing import whole_number as _whole_number
from myrunstreak_pipeline.settings.streaker import StreakerSettings

DEFAULT_DB = "myrunstreak.duckdb"
DEFAULT_API_BASE = "https://api.smashrun.com/v1"
DEFAULT_AUTH_BASE = "https://secure.smashrun.com"
DEFAULT_STREAK_MIN_KM = 1.609344  # one international mile, exactly; never rounded
DEFAULT_TOKEN_FILE = str(Path.home() / ".config" / "myrunstreak" / "smashrun_token.json")
DEFAULT_HISTORY_START = "1970-01-01"
DEFAULT_DETAIL_BUDGET = 50  # detail requests per run: several runs an hour stay under SmashRun's ~250/hour
DEFAULT_SCHEDULE_TIME = "05:00"
DEFAULT_MAX_QUARANTINE_RATE = 0.05
DEFAULT_CALENDAR_YEARS = 10
DEFAULT_DETAIL_MAX_ATTEMPTS = 5  # a detail id failing this often is given up on (a check reports it)
DEFAULT_POOL_TIMEOUT_SECONDS = 600  # a run waits this long for the database's pool slot, then fails naming the holder
EARLIEST_HISTORY_YEAR = 1900  # the validator's plausible-date floor: no run predates it
DEFAULT_API_REFRESH_SECONDS = 5.0  # the query API checks an S3 database's ETag at most this often
DEFAULT_DAGSTER_HOME = str(Path(".myrunstreak") / "dagster_home")
STREAK_SPORTS = ("running", "walking", "hiking", "other")  # what MYRUNSTREAK_STREAK_SPORTS may name
NEVER_COUNTED_SPORTS = ("cycling", "swimming")  # stored, never counted (streak-rules: a run streak is on foot)
SECRET_VARIABLES = (
    "SMASHRUN_ACCESS_TOKEN",
    "SMASHRUN_CLIENT_ID",
    "SMASHRUN_CLIENT_SECRET",
    "MYRUNSTREAK_NOTIFY_URL",  # a webhook URL often holds its token
)


class SettingsError(MyRunStreakError, ValueError):
    """An invalid environment variable. Also a ValueError (what callers caught before), and a MyRunStreakError
    so the CLI prints one line and a hint instead of a traceback."""


class Settings(StreakerSettings):
    """The documented environment (README.md's table) plus the pipeline's tuning knobs; frozen once read."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, populate_by_name=True, case_sensitive=True
    )

    db: str = _variable(
        "MYRUNSTREAK_DB",
        DEFAULT_DB,
        "the database: a local path or `s3://bucket/key.duckdb`",
        "set MYRUNSTREAK_DB to a file path such as ~/myrunstreak/runs.duckdb",
    )
    access_token: str | None = _variable(
        "SMASHRUN_ACCESS_TOKEN", None, "a user-level SmashRun token (wins over the OAuth settings)", repr=False
    )
    client_id: str | None = _variable(
        "SMASHRUN_CLIENT_ID", None, "your OAuth app's id, for `myrunstreak auth` and token refresh", repr=False
    )
    client_secret: str | None = _variable(
        "SMASHRUN_CLIENT_SECRET", None, "your OAuth app's secret, for `myrunstreak auth` and token refresh", repr=False
    )
    token_file: str = _variable(
        "SMASHRUN_TOKEN_FILE", DEFAULT_TOKEN_FILE, "where `myrunstreak auth` keeps the OAuth token"
    )
    api_base: str = _variable(
        "SMASHRUN_API_BASE",
        DEFAULT_API_BASE,
        "the API, `/v1` included (point it at `myrunstreak sandbox` to work offline)",
        f"unset SMASHRUN_API_BASE for the default ({DEFAULT_API_BASE}), or give the sandbox's http://127.0.0.1:PORT/v1",
    )
    auth_base: str = _variable(
        "SMASHRUN_AUTH_BASE",
        DEFAULT_AUTH_BASE,
        "the OAuth server",
        f"unset SMASHRUN_AUTH_BASE for the default ({DEFAULT_AUTH_BASE}), or give the sandbox's http://127.0.0.1:PORT",
    )
    timezone: str | None = _variable(
        "MYRUNSTREAK_TIMEZONE",
        None,
        'IANA name; decides what "today" is and when the daily schedule fires (default: the machine\'s zone)',
        "set MYRUNSTREAK_TIMEZONE to an IANA name such as 'Europe/London' or 'America/New_York'",
    )
    history_start: str | None = _variable(
        "MYRUNSTREAK_HISTORY_START",
        None,
        "first day of your history (default 1970-01-01); the first yearly partition is its year",
        "use YYYY-MM-DD, e.g. 1970-01-01 (the year of your first run is enough)",
    )
    streak_min_km: float = _variable(
        "MYRUNSTREAK_STREAK_MIN_KM",
        DEFAULT_STREAK_MIN_KM,
        "the least distance (km) that keeps a streak alive for a day (default one mile)",
        "set MYRUNSTREAK_STREAK_MIN_KM to a distance in km, e.g. 1.609344 (one mile)",
    )
    streak_mode: Literal["sum", "strict"] = _variable(
        "MYRUNSTREAK_STREAK_MODE",
        "sum",
        "`sum`: the day's runs add up; `strict`: one run must reach the minimum",
        "set MYRUNSTREAK_STREAK_MODE to 'sum' (default) or 'strict'",
    )
    streak_sports: str = _variable(
        "MYRUNSTREAK_STREAK_SPORTS",
        "running",
        "sports that count for the streak, comma-separated: `running`, `walking`, `hiking`, `other` (rides and swims "
        "never count; a file naming no sport is a run)",
        "set MYRUNSTREAK_STREAK_SPORTS to e.g. 'running' (default) or 'running,walking,hiking'",
    )
    import_dir: str | None = _variable(
        "MYRUNSTREAK_IMPORT_DIR",
        None,
        "a drop folder or `s3://bucket/prefix/` of activity files (FIT, GPX, TCX, export zips) that the "
        "`activity_files` asset imports; its sensor notices new files",
        "set MYRUNSTREAK_IMPORT_DIR to a folder path or s3://bucket/prefix/, or unset it",
    )
    s3_endpoint_url: str | None = _variable(
        "MYRUNSTREAK_S3_ENDPOINT_URL",
        None,
        "an S3-compatible store (MinIO, R2, …); AWS credentials come from the usual AWS variables",
        "unset MYRUNSTREAK_S3_ENDPOINT_URL for AWS itself, or give an http(s) URL",
    )
    detail_budget: int = _variable(
        "MYRUNSTREAK_DETAIL_BUDGET",
        DEFAULT_DETAIL_BUDGET,
        "detail requests (laps, recordings) per run",
        f"unset MYRUNSTREAK_DETAIL_BUDGET for the default ({DEFAULT_DETAIL_BUDGET}) or give a whole number",
    )
    detail_max_attempts: int = _variable(
        "MYRUNSTREAK_DETAIL_MAX_ATTEMPTS",
        DEFAULT_DETAIL_MAX_ATTEMPTS,
        "a run's detail that fails this many times (with backoff between runs) is given up on",
        f"unset MYRUNSTREAK_DETAIL_MAX_ATTEMPTS for the default ({DEFAULT_DETAIL_MAX_ATTEMPTS}) or give a whole "
        "number >= 1",
    )
    pool_timeout_seconds: float = _variable(
        "MYRUNSTREAK_POOL_TIMEOUT",
        DEFAULT_POOL_TIMEOUT_SECONDS,
        "seconds a run waits for the database (another run holds it) before failing with that run's id",
        f"unset MYRUNSTREAK_POOL_TIMEOUT for the default ({DEFAULT_POOL_TIMEOUT_SECONDS}) or give seconds > 0",
    )
    schedule_time: str = _variable(
        "MYRUNSTREAK_SCHEDULE_TIME",
        DEFAULT_SCHEDULE_TIME,
        "when the daily schedule runs, in `MYRUNSTREAK_TIMEZONE`",
        "use HH:MM, e.g. 05:00",
    )
    max_quarantine_rate: float = _variable(
        "MYRUNSTREAK_MAX_QUARANTINE_RATE",
        DEFAULT_MAX_QUARANTINE_RATE,
        "above this share of invalid payloads, the analytics wait",
        f"unset MYRUNSTREAK_MAX_QUARANTINE_RATE for the default ({DEFAULT_MAX_QUARANTINE_RATE}) or give a number",
    )
    calendar_dir: str | None = _variable(
        "MYRUNSTREAK_CALENDAR_DIR",
        None,
        "where the `streak_calendar` asset writes `streak_calendar.png` (default: the database's folder)",
    )
    calendar_years: int | None = _variable(
        "MYRUNSTREAK_CALENDAR_YEARS",
        DEFAULT_CALENDAR_YEARS,
        "years in that picture (`all` for every year)",
        f"unset MYRUNSTREAK_CALENDAR_YEARS for the default ({DEFAULT_CALENDAR_YEARS}), or give a whole number or 'all'",
    )
    api_refresh_seconds: float = _variable(
        "MYRUNSTREAK_API_REFRESH_SECONDS",
        DEFAULT_API_REFRESH_SECONDS,
        "the query API re-checks an S3 database's version (ETag) at most this often",
        f"unset MYRUNSTREAK_API_REFRESH_SECONDS for the default ({DEFAULT_API_REFRESH_SECONDS:g}) or give seconds >= 0",
    )
    api_cors_origins: str | None = _variable(
        "MYRUNSTREAK_API_CORS_ORIGINS",
        None,
        "origins allowed to call the query API from a browser, comma-separated (`*` for any; default: none)",
        "give origins such as https://me.example.org,https://friend.example.org, or unset it",
    )
    dagster_home: str = _variable(
        "DAGSTER_HOME",
        DEFAULT_DAGSTER_HOME,
        "Dagster's run history; `myrunstreak run` sets it up with the project's `dagster.yaml`",
        "set DAGSTER_HOME to an absolute folder path",
    )

    # ---- parsing: each validator names its variable, so the error line does too

    @field_validator("api_base", "auth_base", mode="after")
    @classmethod
    def _http_url(cls, value: str, info: ValidationInfo) -> str:
        name = "SMASHRUN_API_BASE" if info.field_name == "api_base" else "SMASHRUN_AUTH_BASE"
        value = value.strip().rstrip("/")
        _require_http_url(name, value)
        return value

    @field_validator("db", mode="after")
    @classmethod
    def _database(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("MYRUNSTREAK_DB is blank")
        return value

    @field_validator("timezone", mode="after")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"MYRUNSTREAK_TIMEZONE: unknown time zone {value!r}") from None
        return value

    @field_validator("history_start", mode="after")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _iso(value, dt.date.fromisoformat, "MYRUNSTREAK_HISTORY_START is not a date")
        day = dt.date.fromisoformat(value)
        # Upper bound: tomorrow anywhere on Earth (UTC+14); a later start would leave no history to fetch.
        latest = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)).date()
        if not dt.date(EARLIEST_HISTORY_YEAR, 1, 1) <= day <= latest:
            raise ValueError(
                f"MYRUNSTREAK_HISTORY_START must be between {EARLIEST_HISTORY_YEAR}-01-01 and today, got {value!r}"
            )
        return value

    @field_validator("streak_min_km", mode="before")
    @classmethod
    def _min_km(cls, value: Any) -> float:
        return _number("MYRUNSTREAK_STREAK_MIN_KM", value, minimum=0, inclusive=False)

    @field_validator("streak_mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> str:
        mode = str(value).strip().lower()
        if mode not in ("sum", "strict"):
            raise ValueError("MYRUNSTREAK_STREAK_MODE must be 'sum' or 'strict'")
        return mode

    @field_validator("detail_budget", mode="before")
    @classmethod
    def _budget(cls, value: Any) -> int:
        return _whole_number("MYRUNSTREAK_DETAIL_BUDGET", value, minimum=0)

    @field_validator("detail_max_attempts", mode="before")
    @classmethod
    def _attempts(cls, value: Any) -> int:
        return _whole_number("MYRUNSTREAK_DETAIL_MAX_ATTEMPTS", value, minimum=1)

    @field_validator("pool_timeout_seconds", mode="before")
    @classmethod
    def _pool_timeout(cls, value: Any) -> float:
        return _number("MYRUNSTREAK_POOL_TIMEOUT", value, minimum=0, inclusive=False)

    @field_validator("s3_endpoint_url", mode="after")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        _require_http_url("MYRUNSTREAK_S3_ENDPOINT_URL", value.strip())
        return value.strip()

    @field_validator("streak_sports", mode="after")
    @classmethod
    def _sports(cls, value: str) -> str:
        sports = [part.strip().lower() for part in value.split(",") if part.strip()]
        never = sorted(set(sports) & set(NEVER_COUNTED_SPORTS))
        if never:
            raise ValueError(f"MYRUNSTREAK_STREAK_SPORTS: {', '.join(never)} never count for a run streak")
        unknown = [sport for sport in sports if sport not in STREAK_SPORTS]
        if unknown or not sports:
            raise ValueError(f"MYRUNSTREAK_STREAK_SPORTS: not one of {', '.join(STREAK_SPORTS)}: {value!r}")
        return ",".join(dict.fromkeys(sports))

    @property
    def streak_sports_list(self) -> list[str]:
        """``MYRUNSTREAK_STREAK_SPORTS`` as a list, in the order given, without repeats."""
        return self.streak_sports.split(",")

    @field_validator("import_dir", mode="after")
    @classmethod
    def _import_dir(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if value.startswith("s3://") and not value.removeprefix("s3://").split("/", 1)[0]:
            raise ValueError(f"MYRUNSTREAK_IMPORT_DIR: an S3 location needs a bucket (s3://bucket/prefix/): {value!r}")
        return value

    @field_validator("api_refresh_seconds", mode="before")
    @classmethod
    def _refresh(cls, value: Any) -> float:
        return _number("MYRUNSTREAK_API_REFRESH_SECONDS", value, minimum=0)

    @field_validator("api_cors_origins", mode="after")
    @classmethod
    def _origins(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for origin in (part.strip() for part in value.split(",")):
            parsed = urlsplit(origin)
            if origin != "*" and (parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path):
                raise ValueError(f"MYRUNSTREAK_API_CORS_ORIGINS: not an origin (scheme://host[:port]): {origin!r}")
        return value

    @property
    def cors_origins(self) -> list[str]:
        """``MYRUNSTREAK_API_CORS_ORIGINS`` as a list (empty: CORS off)."""
        return [part.strip() for part in (self.api_cors_origins or "").split(",") if part.strip()]

    @field_validator("schedule_time", mode="after")
    @classmethod
    def _time(cls, value: str) -> str:
        return _iso(value, dt.time.fromisoformat, "MYRUNSTREAK_SCHEDULE_TIME is not a time")

    @field_validator("max_quarantine_rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> float:
        return _number("MYRUNSTREAK_MAX_QUARANTINE_RATE", value, minimum=0)

    @field_validator("calendar_years", mode="before")
    @classmethod
    def _years(cls, value: Any) -> int | None:
        if value is None or str(value).strip().lower() == "all":
            return None
        return _whole_number("MYRUNSTREAK_CALENDAR_YEARS", value, minimum=1)

    # ---- reading

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Read the environment once (``overrides``, by field name, win); a bad value is a ``SettingsError``."""
        try:
            return cls(**overrides)
        except ValidationError as error:
            raise _settings_error(error) from None

    def __repr__(self) -> str:  # never show secrets
        return f"Settings(db={self.db!r}, api_base={self.api_base!r}, timezone={self.timezone!r})"

    __str__ = __repr__

    # ---- derived values

    def is_set(self, field_name: str) -> bool:
        """True when the variable behind ``field_name`` was set (not defaulted): an explicit rule wins over the
        stored one."""
        return field_name in self.model_fields_set

    @property
    def history_start_year(self) -> int:
        return dt.date.fromisoformat(self.history_start or DEFAULT_HISTORY_START).year

    @property
    def schedule_hour_minute(self) -> tuple[int, int]:
        parsed = dt.time.fromisoformat(self.schedule_time)
        return parsed.hour, parsed.minute

    @classmethod
    def variables(cls) -> dict[str, tuple[str, Any, str]]:
        """Environment variable -> (field name, default, description): the README's table is tested against it."""
        return {
            info.validation_alias: (name, info.default, info.description or "")
            for name, info in cls.model_fields.items()
        }


def _settings_error(error: ValidationError) -> SettingsError:
    """The first problem as one line naming the variable, with that variable's hint; never the secret input."""
    first = error.errors()[0]
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    # a check across variables (a model validator) has no location: its message starts with the variable's name
    variable = str(first["loc"][0]) if first.get("loc") else message.split(":", 1)[0]
    field = next((info for info in Settings.model_fields.values() if info.validation_alias == variable), None)
    if variable not in message:
        shown = "" if variable in SECRET_VARIABLES else f", got {str(first.get('input'))!r}"
        message = f"{variable}: {message}{shown}"
    extra = field.json_schema_extra if field is not None and isinstance(field.json_schema_extra, dict) else {}
    return SettingsError(message, hint=str(extra.get("hint") or f"check {variable}"))
