"""Streak and running analytics: thin Python over the SQL views and macros in ``sql/views/analytics_*.sql``.

Public API:
    StreakRule, get_streak_rule(con), set_streak_rule(con, min_km, mode), set_streak_rule_from_env(con)
    streak_report(con, today, min_km=None, mode=None) -> dict   (the ``myrunstreak streak --json`` object)
    streak_card(con, today, min_km=None, mode=None) -> dict     (report + today's progress + period totals)
    format_card(card) -> str, format_card_markdown(card) -> str, local_today(timezone=None) -> date
"""

from __future__ import annotations

from myrunstreak_pipeline.analytics.report import (
    format_card,
    format_card_markdown,
    local_today,
    streak_card,
    streak_report,
)
from myrunstreak_pipeline.analytics.rule import StreakRule, get_streak_rule, set_streak_rule, set_streak_rule_from_env

__all__ = [
    "StreakRule",
    "format_card",
    "format_card_markdown",
    "get_streak_rule",
    "local_today",
    "set_streak_rule",
    "set_streak_rule_from_env",
    "streak_card",
    "streak_report",
]
