"""Validation of SmashRun payloads for a write: each payload becomes an ``Activity`` or a quarantine row (id when
readable, the payload text, the reason), and a batch keeps one version per activity id (the newest
``dateUpdatedUTC``). Per-payload isolation: nothing one payload does (a ValidationError or any other exception)
escapes or costs the batch its valid rows. Pure Python: no DuckDB, no Arrow."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    """The payload's id as text when one can be read (for quarantine rows and id bookkeeping), else None."""
    try:
        if isinstance(item, Mapping):
            value = item.get("activityId", item.get("activity_id"))
            if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value).strip():
                return str(value).strip()[:64]
    except Exception:  # a hostile Mapping must not fail the batch
        pass
    return None


def payload_text(item: Any) -> str:
    """Best-effort text of an unusable payload, for the quarantine table (which must never lose it)."""
    for ensure_ascii in (False, True):
        try:
            return json.dumps(item, default=repr, ensure_ascii=ensure_ascii).encode("utf-8").decode("utf-8")
        except Exception:  # try the next, more forgiving form
            continue
    try:
        return repr(item).encode("utf-8", "backslashreplace").decode("utf-8")
    except Exception:  # anything at all
        return f"<unreadable {type(item).__name__}>"


def _unreadable(item: Any, error: BaseException) -> tuple[str | None, str, str]:
    # The exception's type only: its message may quote the payload.
    return (readable_id(item), payload_text(item), f"payload: could not be read ({type(error).__name__})")


def _read(item: Any) -> tuple[Activity, str, str | None] | tuple[str | None, str, str]:
    """``(activity, payload JSON, raw start)`` for a valid payload, else a quarantine row ``(id, text, reason)``."""
    if isinstance(item, Activity):
        try:
            payload = item.model_dump_json(by_alias=True, exclude_none=True)
        except PydanticSerializationError:
            return (item.activity_id, payload_text(repr(item)), "payload: not valid UTF-8 text")
        item = item.model_dump(by_alias=True, exclude_none=True)  # re-validated: fields may have been assigned
    elif isinstance(item, Mapping):
        try:
            # inf_nan_mode: NaN cannot come from the wire; if Python code put one in an unknown key, store null
            payload = to_json(item, inf_nan_mode="null").decode("utf-8")
        except Exception:  # lone surrogates, odd keys, cycles, hostile objects
            return (readable_id(item), payload_text(item), "payload: not serialisable as UTF-8 JSON")
    else:
        return (None, payload_text(item), "payload: must be a JSON object")
    try:
        activity = Activity.model_validate(item)
    except ValidationError as error:
        return (readable_id(item), payload, format_validation_error(error))
    raw_start = item.get("startDateTimeLocal")
    return (activity, payload, raw_start if isinstance(raw_start, str) else None)


def _updated(activity: Activity) -> datetime | None:
    """dateUpdatedUTC as a naive UTC datetime (the model guarantees it; this keeps comparisons safe anyway)."""
    stamp = activity.updated_at_utc
    if stamp is not None and stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp


def _is_newer_or_same(candidate: Activity, kept: Activity) -> bool:
    """The later payload wins unless the kept one is strictly newer (a missing stamp counts as oldest)."""
    older, newer = _updated(kept), _updated(candidate)
    return older is None or (newer is not None and newer >= older)


def validate_payloads(items: Iterable[Any]) -> ValidatedBatch:
    """Validate each payload, keep the newest version of each activity id, and set aside the invalid ones
    (id when readable, payload text, reason); no exception from one payload stops the batch: anything unexpected
    quarantines that payload with the exception's type as the reason."""
    batch = ValidatedBatch()
    chosen: dict[str, int] = {}  # activity id -> index in batch.activities
    for item in items:
        try:
            outcome = _read(item)
            if not isinstance(outcome[0], Activity):
                batch.quarantine.append(outcome)
                continue
            activity, payload, raw_start = outcome
            previous = chosen.get(activity.activity_id)
            if previous is None:
                chosen[activity.activity_id] = len(batch.activities)
                batch.activities.append(activity)
                batch.payloads.append(payload)
                batch.raw_starts.append(raw_start)
                continue
            batch.duplicates += 1
            if _is_newer_or_same(activity, batch.activities[previous]):  # on a tie the later payload wins
                batch.activities[previous] = activity
                batch.payloads[previous] = payload
                batch.raw_starts[previous] = raw_start
        except Exception as error:  # one payload must never fail the batch
            batch.quarantine.append(_unreadable(item, error))
    return batch


def unknown_enum_values(activities: list[Activity]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {}
    for activity in activities:
        for name, value in activity.unknown_enum_values.items():
            found.setdefault(name, set()).add(value)
    return {name: sorted(values) for name, values in sorted(found.items())}
