"""The environment variables of the public contract (design.md section 5), read in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from myrunstreak_pipeline.errors import MyRunStreakError

DEFAULT_DB = "myrunstreak.duckdb"
DEFAULT_API_BASE = "https://api.smashrun.com/v1"
DEFAULT_AUTH_BASE = "https://secure.smashrun.com"
DEFAULT_STREAK_MIN_KM = 1.609344  # one international mile, exactly; never rounded
DEFAULT_TOKEN_FILE = str(Path.home() / ".config" / "myrunstreak" / "smashrun_token.json")


class SettingsError(MyRunStreakError, ValueError):
    """An invalid environment variable. Also a ValueError (what callers caught before), and a MyRunStreakError
    so the CLI prints one line and a hint instead of a traceback."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_number(name: str, default: int | float, *, minimum: float = 0) -> int | float:
    """A numeric environment variable of the same type as ``default`` (unset: ``default``); a value that is not
    such a number, or is below ``minimum``, is a SettingsError (one line and a hint, never a traceback)."""
    text = _env(name)
    if text is None:
        return default
    try:
        value = type(default)(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise SettingsError(f"{name} must be {kind} >= {minimum:g}, got {text!r}",
                            hint=f"unset {name} for the default ({default}) or give {kind}")
    return value


@dataclass(frozen=True)
class Settings:
    db: str
    api_base: str
    auth_base: str
    access_token: str | None
    client_id: str | None
    client_secret: str | None
    token_file: str
    timezone: str | None
    history_start: str | None
    streak_min_km: float
    streak_mode: str
    s3_endpoint_url: str | None

    def __repr__(self) -> str:  # never show secrets
        return f"Settings(db={self.db!r}, api_base={self.api_base!r}, timezone={self.timezone!r})"

    @classmethod
    def from_env(cls) -> "Settings":
        mode = (_env("MYRUNSTREAK_STREAK_MODE", "sum") or "sum").lower()
        if mode not in ("sum", "strict"):
            raise SettingsError("MYRUNSTREAK_STREAK_MODE must be 'sum' or 'strict'",
                                hint="set MYRUNSTREAK_STREAK_MODE to 'sum' (default) or 'strict'")
        min_km_text = _env("MYRUNSTREAK_STREAK_MIN_KM", str(DEFAULT_STREAK_MIN_KM))
        try:
            streak_min_km = float(min_km_text)
        except ValueError:
            raise SettingsError(f"MYRUNSTREAK_STREAK_MIN_KM is not a number: {min_km_text!r}",
                                hint="set MYRUNSTREAK_STREAK_MIN_KM to a distance in km, e.g. 1.609344") from None
        return cls(
            db=_env("MYRUNSTREAK_DB", DEFAULT_DB),
            api_base=(_env("SMASHRUN_API_BASE", DEFAULT_API_BASE) or DEFAULT_API_BASE).rstrip("/"),
            auth_base=(_env("SMASHRUN_AUTH_BASE", DEFAULT_AUTH_BASE) or DEFAULT_AUTH_BASE).rstrip("/"),
            access_token=_env("SMASHRUN_ACCESS_TOKEN"),
            client_id=_env("SMASHRUN_CLIENT_ID"),
            client_secret=_env("SMASHRUN_CLIENT_SECRET"),
            token_file=_env("SMASHRUN_TOKEN_FILE", DEFAULT_TOKEN_FILE),
            timezone=_env("MYRUNSTREAK_TIMEZONE"),
            history_start=_env("MYRUNSTREAK_HISTORY_START"),
            streak_min_km=streak_min_km,
            streak_mode=mode,
            s3_endpoint_url=_env("MYRUNSTREAK_S3_ENDPOINT_URL"),
        )
