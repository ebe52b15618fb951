"""The settings of a streaker's tools (issue 14): the day-attribution policy, the registry details for
``streak --record``, and the evening "not yet today" reminder. A base class of ``Settings`` (same parsing, same
one-line errors); kept apart so each module stays small."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings

from myrunstreak_pipeline.settings.parsing import iso, require_http_url, variable

DEFAULT_REMIND_AT = "19:00"
MAX_REGISTRY_TEXT = 120  # a name or a place, as a registry lists it


class StreakerSettings(BaseSettings):
    day_policy: Literal["activity_local", "home_zone"] = variable(
        "MYRUNSTREAK_DAY_POLICY",
        "activity_local",
        "which calendar day a run counts for: `activity_local` (its own local start) or `home_zone` (the day in "
        "`MYRUNSTREAK_TIMEZONE`, for a streak anchored at home); travel days one by one with `myrunstreak travel`",
        "set MYRUNSTREAK_DAY_POLICY to 'activity_local' (default) or 'home_zone' (with MYRUNSTREAK_TIMEZONE)",
    )
    midnight_both_days: bool = variable(
        "MYRUNSTREAK_MIDNIGHT_BOTH_DAYS",
        False,
        "`true`: a run across local midnight counts for both days (default `false`: for its start day)",
        "set MYRUNSTREAK_MIDNIGHT_BOTH_DAYS to true or false",
    )
    runner_name: str | None = variable(
        "MYRUNSTREAK_RUNNER_NAME", None, "your name as a streak registry lists it (`streak --record`)"
    )
    runner_location: str | None = variable(
        "MYRUNSTREAK_RUNNER_LOCATION", None, "your town and state or country, as the registry lists it"
    )
    remind_at: str = variable(
        "MYRUNSTREAK_REMIND_AT",
        DEFAULT_REMIND_AT,
        "from this local time (`MYRUNSTREAK_TIMEZONE`) the reminder sensor checks whether today already counts",
        "use HH:MM, e.g. 19:00",
    )
    notify_url: str | None = variable(
        "MYRUNSTREAK_NOTIFY_URL",
        None,
        'a JSON webhook (ntfy topic, Slack or Discord incoming webhook) for the "not yet today" reminder; '
        "unset: no reminder (treated as a secret)",
        "give an http(s) webhook URL, or unset MYRUNSTREAK_NOTIFY_URL",
        repr=False,
    )

    @field_validator("remind_at", mode="after")
    @classmethod
    def _remind_at(cls, value: str) -> str:
        return iso(value.strip(), dt.time.fromisoformat, "MYRUNSTREAK_REMIND_AT is not a time (HH:MM)")

    @field_validator("notify_url", mode="after")
    @classmethod
    def _notify_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            require_http_url("MYRUNSTREAK_NOTIFY_URL", value.strip())
        except ValueError:
            raise ValueError("MYRUNSTREAK_NOTIFY_URL is not an http(s) URL") from None  # never echo a webhook secret
        return value.strip()

    @field_validator("runner_name", "runner_location", mode="after")
    @classmethod
    def _registry_text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = " ".join(value.split())
        if not text or len(text) > MAX_REGISTRY_TEXT or not text.isprintable():
            raise ValueError(f"must be printable text of 1 to {MAX_REGISTRY_TEXT} characters")
        return text

    @model_validator(mode="after")
    def _home_zone_needs_a_zone(self) -> StreakerSettings:
        if self.day_policy == "home_zone" and not getattr(self, "timezone", None):
            raise ValueError(
                "MYRUNSTREAK_DAY_POLICY: 'home_zone' anchors the streak in MYRUNSTREAK_TIMEZONE, which is unset"
            )
        return self

    @property
    def remind_hour_minute(self) -> tuple[int, int]:
        parsed = dt.time.fromisoformat(self.remind_at)
        return parsed.hour, parsed.minute
