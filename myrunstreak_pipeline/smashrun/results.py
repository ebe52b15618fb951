"""What the client hands back, and the item-by-item validation that sorts raw payloads into them.

Valid items are kept as the *raw dicts received* (the loader lands raw payloads); invalid ones become
``(raw_item, reason)`` rejects, never silently dropped. A reason names field paths and messages, never values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from myrunstreak_pipeline.models import Activity, ActivityBrief, format_validation_error


@dataclass
class FetchResult:
    activities: list[dict[str, Any]] = field(default_factory=list)  # valid raw dicts, exactly as received
    rejects: list[tuple[Any, str]] = field(default_factory=list)  # (raw item, reason without input values)
    requests_used: int = 0


@dataclass
class DetailBatch:
    fetched: list[dict[str, Any]] = field(default_factory=list)  # valid full activities, raw
    rejects: list[tuple[Any, str]] = field(default_factory=list)
    remaining_ids: list[str] = field(default_factory=list)  # not attempted: pass them to the next call
    requests_used: int = 0
    missing: list[str] = field(default_factory=list)  # 404: deleted upstream since they were listed
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, reason): 5xx, garbage, no connection
    answered_ids: list[str] = field(default_factory=list)  # ids fetched, rejected or 404: no longer failing
    stopped_by: str | None = None  # None (all done), "budget", "rate_limit" or "unavailable"


def deleted_ids(stored_ids: Iterable[Any], upstream_ids: Iterable[Any]) -> set[str]:
    """Ids stored locally that SmashRun no longer lists (flagged deleted upstream)."""
    return {str(i) for i in stored_ids} - {str(i) for i in upstream_ids}


def validation_reason(item: Any, style: str) -> str | None:
    """None when ``item`` validates (as a brief for ``style="briefs"``, else as an activity), else the reason."""
    if not isinstance(item, dict):
        return f"expected a JSON object, got {type(item).__name__}"
    model = ActivityBrief if style == "briefs" else Activity
    try:
        model.model_validate(item)
    except ValidationError as error:
        return format_validation_error(error)
    return None


def validate_items(items: list[Any], style: str) -> FetchResult:
    """Sort listed items into valid raw dicts and rejects (``requests_used`` is the caller's to fill in)."""
    result = FetchResult()
    for item in items:
        reason = validation_reason(item, style)
        if reason is None:
            result.activities.append(item)
        else:
            result.rejects.append((item, reason))
    return result
