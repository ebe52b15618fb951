"""Validation of SmashRun payloads for a write: each payload becomes an ``Activity`` or a quarantine row (id when
readable, the payload text, the reason), and a batch keeps one version per activity id (the newest
``dateUpdatedUTC``). Pure Python: no DuckDB, no Arrow."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError, to_json

from myrunstreak_pipeline.models import Activity, format_validation_error


@dataclass
class ValidatedBatch:
    """A validated, de-duplicated batch, ready to stage."""

    activities: list[Activity] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list)  # JSON text as received
    raw_starts: list[str | None] = field(default_factory=list)  # startDateTimeLocal exactly as received
    quarantine: list[tuple[str | None, str, str]] = field(default_factory=list)  # (id, payload, reason)
    duplicates: int = 0

    @property
    def all_ids(self) -> list[str]:
        """Ids of every payload in the batch whose id could be read, valid or not."""
        return [a.activity_id for a in self.activities] + [q[0] for q in self.quarantine if q[0] is not None]


def readable_id(item: Any) -> str | None:
    if isinstance(item, Mapping):
        value = item.get("activityId", item.get("activity_id"))
        if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()[:64]
    return None


def payload_text(item: Any) -> str:
    """Best-effort text of an unusable payload, for the quarantine table (which must never lose it)."""
    try:
        return json.dumps(item, default=repr, ensure_ascii=False).encode("utf-8").decode("utf-8")
    except (TypeError, ValueError, UnicodeError, RecursionError):
        pass
    try:
        return json.dumps(item, default=repr, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        return repr(item).encode("utf-8", "backslashreplace").decode("utf-8")


def validate_payloads(items: Iterable[Any]) -> ValidatedBatch:
    """Validate each payload, keep the newest version of each activity id, and set aside the invalid ones
    (id when readable, payload text, reason); no exception from one payload stops the batch."""
    batch = ValidatedBatch()
    chosen: dict[str, int] = {}  # activity id -> index in batch.activities
    for item in items:
        if isinstance(item, Activity):
            activity = item
            try:
                payload = item.model_dump_json(by_alias=True, exclude_none=True)
            except PydanticSerializationError:
                batch.quarantine.append((item.activity_id, payload_text(repr(item)), "payload: not valid UTF-8 text"))
                continue
            raw_start = None
        elif isinstance(item, Mapping):
            try:
                # inf_nan_mode: NaN cannot come from the wire; if Python code put one in an unknown key, store null
                payload = to_json(item, inf_nan_mode="null").decode("utf-8")
            except (PydanticSerializationError, UnicodeError, ValueError, RecursionError):
                batch.quarantine.append(
                    (readable_id(item), payload_text(item), "payload: not serialisable as UTF-8 JSON")
                )
                continue
            try:
                activity = Activity.model_validate(item)
            except ValidationError as error:
                batch.quarantine.append((readable_id(item), payload, format_validation_error(error)))
                continue
            raw_start = item.get("startDateTimeLocal")
            raw_start = raw_start if isinstance(raw_start, str) else None
        else:
            batch.quarantine.append((None, payload_text(item), "payload: must be a JSON object"))
            continue
        previous = chosen.get(activity.activity_id)
        if previous is not None:
            batch.duplicates += 1
            older = batch.activities[previous].updated_at_utc
            newer = activity.updated_at_utc
            if older is not None and (newer is None or newer < older):
                continue  # the stored one is newer; on a tie the later payload wins
            (batch.activities[previous], batch.payloads[previous], batch.raw_starts[previous]) = (
                activity,
                payload,
                raw_start,
            )
            continue
        chosen[activity.activity_id] = len(batch.activities)
        batch.activities.append(activity)
        batch.payloads.append(payload)
        batch.raw_starts.append(raw_start)
    return batch


def unknown_enum_values(activities: list[Activity]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for activity in activities:
        for name, value in activity.unknown_enum_values.items():
            found.setdefault(name, set()).add(value)
    return {name: sorted(values) for name, values in sorted(found.items())}
