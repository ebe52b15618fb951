"""The streak rule (minimum distance per local day + 'sum' or 'strict') and the runner's time zone, stored in
table ``streak_rule``.

The writer stores the configured rule (MYRUNSTREAK_STREAK_MIN_KM / MYRUNSTREAK_STREAK_MODE) and zone
(MYRUNSTREAK_TIMEZONE) so plain views and read-only readers follow the same rule and the same "today" it used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings import DEFAULT_STREAK_MIN_KM, STREAK_SPORTS
from myrunstreak_pipeline.sql import load_sql

MODES = ("sum", "strict")
DAY_POLICIES = ("activity_local", "home_zone")


@dataclass(frozen=True)
class StreakRule:
    min_km: float = DEFAULT_STREAK_MIN_KM
    mode: str = "sum"
    time_zone: str | None = None  # IANA name; None = the reading session's zone
    sports: tuple[str, ...] = ("running",)  # MYRUNSTREAK_STREAK_SPORTS (rides and swims never count)
    day_policy: str = "activity_local"  # MYRUNSTREAK_DAY_POLICY: activity_local | home_zone (in time_zone)
    midnight_both_days: bool = False  # MYRUNSTREAK_MIDNIGHT_BOTH_DAYS

    def __post_init__(self) -> None:
        if isinstance(self.min_km, bool) or not isinstance(self.min_km, (int, float)):
            raise MyRunStreakError(
                f"streak minimum distance must be a number of km, got {self.min_km!r}",
                hint="set MYRUNSTREAK_STREAK_MIN_KM to e.g. 1.609344 (one mile)",
            )
        if not math.isfinite(self.min_km) or self.min_km <= 0:
            raise MyRunStreakError(
                f"streak minimum distance must be a positive number of km, got {self.min_km!r}",
                hint="set MYRUNSTREAK_STREAK_MIN_KM to e.g. 1.609344 (one mile)",
            )
        if not self.sports or any(sport not in STREAK_SPORTS for sport in self.sports):
            raise MyRunStreakError(
                f"streak sports must be some of {', '.join(STREAK_SPORTS)}, got {list(self.sports)!r}",
                hint="set MYRUNSTREAK_STREAK_SPORTS to e.g. 'running' (default) or 'running,walking'",
            )
        if self.day_policy not in DAY_POLICIES or (self.day_policy == "home_zone" and not self.time_zone):
            raise MyRunStreakError(
                f"day policy must be one of {', '.join(DAY_POLICIES)} ('home_zone' with a time zone), "
                f"got {self.day_policy!r}",
                hint="set MYRUNSTREAK_DAY_POLICY to 'activity_local' or 'home_zone' (with MYRUNSTREAK_TIMEZONE)",
            )
        if self.mode not in MODES:
            raise MyRunStreakError(
                f"streak mode must be 'sum' or 'strict', got {self.mode!r}",
                hint="set MYRUNSTREAK_STREAK_MODE to 'sum' (default) or 'strict'",
            )

    def as_dict(self) -> dict:
        """The rule as the public contract shows it (``streak --json``, design.md §5): distance and mode."""
        return {"min_km": float(self.min_km), "mode": self.mode}


def get_streak_rule(con) -> StreakRule:
    """The rule stored in the database (the default one mile, 'sum' until a writer sets another)."""
    row = con.execute(load_sql("queries/analytics/get_streak_rule.sql")).fetchone()
    if row is None:
        return StreakRule()
    sports = tuple(row[3]) if row[3] else ("running",)
    return StreakRule(
        min_km=float(row[0]),
        mode=row[1],
        time_zone=row[2],
        sports=sports,
        day_policy=row[4] or "activity_local",
        midnight_both_days=bool(row[5]),
    )


def set_streak_rule(
    con,
    min_km: float,
    mode: str,
    time_zone: str | None = None,
    sports: tuple[str, ...] | list[str] = ("running",),
    *,
    day_policy: str = "activity_local",
    midnight_both_days: bool = False,
) -> StreakRule:
    """Validate and store the rule, the runner's zone, the sports that count and the day-attribution policy
    (needs a writable connection). Returns the stored rule."""
    rule = StreakRule(
        min_km=min_km,
        mode=mode,
        time_zone=time_zone,
        sports=tuple(sports),
        day_policy=day_policy,
        midnight_both_days=bool(midnight_both_days),
    )
    con.execute(
        load_sql("queries/analytics/set_streak_rule.sql"),
        {
            **rule.as_dict(),
            "time_zone": time_zone,
            "sports": list(rule.sports),
            "day_policy": rule.day_policy,
            "midnight_both_days": rule.midnight_both_days,
        },
    )
    return rule


def set_streak_rule_from_settings(con, settings) -> StreakRule:
    """Store what the settings configure (every writer does this, so readers follow the writer's rule)."""
    return set_streak_rule(
        con,
        settings.streak_min_km,
        settings.streak_mode,
        settings.timezone,
        settings.streak_sports_list,
        day_policy=settings.day_policy,
        midnight_both_days=settings.midnight_both_days,
    )


def resolve_rule(con, min_km: float | None, mode: str | None) -> StreakRule:
    """Explicit values win; whatever is missing comes from the stored rule."""
    stored = get_streak_rule(con)
    return StreakRule(
        min_km=stored.min_km if min_km is None else min_km,
        mode=mode or stored.mode,
        time_zone=stored.time_zone,
        sports=stored.sports,
        day_policy=stored.day_policy,
        midnight_both_days=stored.midnight_both_days,
    )


def set_streak_rule_from_env(con) -> StreakRule:
    """Store the rule configured by MYRUNSTREAK_STREAK_MIN_KM / MYRUNSTREAK_STREAK_MODE (defaults: one mile,
    'sum'). For the writer, after migrations, so views and readers follow the configured rule."""
    from myrunstreak_pipeline.settings import Settings

    try:
        settings = Settings.from_env()
    except ValueError as error:
        raise MyRunStreakError(
            f"invalid streak rule in the environment: {error}",
            hint="MYRUNSTREAK_STREAK_MIN_KM is a distance in km (e.g. 1.609344); "
            "MYRUNSTREAK_STREAK_MODE is 'sum' or 'strict'",
        ) from error
    return set_streak_rule_from_settings(con, settings)
