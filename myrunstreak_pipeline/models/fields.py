"""Reusable field types for SmashRun payloads (shared by activity.py and nested.py).

Each type validates what real payloads send and serializes back to the same JSON shape, so
``model_dump(by_alias=True, exclude_none=True)`` returns the payload SmashRun sent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError

# Shared model configuration: camelCase aliases in, snake_case names in Python; errors never echo input.
PAYLOAD_CONFIG = ConfigDict(
    populate_by_name=True,
    extra="ignore",  # additive API changes must not break loads; the raw payload keeps every key
    hide_input_in_errors=True,
    allow_inf_nan=False,
)

INT32_MAX = 2**31 - 1  # DuckDB INTEGER


def _flag(value: Any) -> Any:
    # SmashRun flags are the JSON integers 0/1; accept real booleans too (models built in Python).
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise ValueError("must be 0 or 1")


Flag = Annotated[bool, BeforeValidator(_flag), PlainSerializer(int, return_type=int, when_used="unless-none")]


def _text_datetime(value: Any) -> Any:
    # Pydantic would read a number as a unix timestamp; SmashRun timestamps are always strings.
    if isinstance(value, (str, datetime)):
        return value
    raise ValueError("must be an ISO-8601 date-time string")


def _utc_naive(value: Any) -> Any:
    value = _text_datetime(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value  # let pydantic report it as an invalid datetime
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError("date-time out of range") from None
    return value


def format_utc(value: datetime) -> str:
    """``2022-11-09T15:01:39.44``: SmashRun's UTC style (no offset, 0-3 fractional digits, zeros trimmed)."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text


# UTC timestamp without offset (dateCreatedUTC, dateUpdatedUTC, syncDateTimeUTC); stored naive, in UTC.
UtcTimestamp = Annotated[
    datetime, BeforeValidator(_utc_naive), PlainSerializer(format_utc, return_type=str, when_used="unless-none")
]

# Local wall-clock time WITH its UTC offset (startDateTimeLocal); serialized back as "…T09:12:00-05:00".
LocalTimestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_text_datetime),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="unless-none"),
]

NonNegativeInt32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
HeartRate = Annotated[int, Field(ge=20, le=250)]


def _activity_id(value: Any) -> Any:
    # SmashRun sends ints; POST responses and some clients use strings. Always stored as str.
    if isinstance(value, bool):
        raise ValueError("must be an integer or a string")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()
    raise ValueError("must be an integer or a string")


ActivityId = Annotated[str, BeforeValidator(_activity_id), Field(max_length=64)]


def updated_epoch(item: Any, key: str = "dateUpdatedUTC") -> float | None:
    """``item[key]`` (a SmashRun UTC timestamp: naive UTC, 0-3 fractional digits) as epoch seconds, or None when
    ``item`` is not a dict or the value is missing or unreadable. The sync cursor and the sandbox's
    ``fromDateUTC`` filter both read ``dateUpdatedUTC`` through this."""
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def max_updated_epoch(items: list[Any]) -> float | None:
    """The newest readable ``dateUpdatedUTC`` among ``items`` as epoch seconds, or None when there is none."""
    stamps = [stamp for stamp in map(updated_epoch, items) if stamp is not None]
    return max(stamps) if stamps else None


def format_validation_error(error: ValidationError, *, max_errors: int = 10) -> str:
    """``field.path: message; …`` without input values (notes or payload fragments must never leak)."""
    details = error.errors(include_input=False, include_url=False, include_context=False)
    # Root-level (model) errors already start with the field names they concern.
    parts = [
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" if item["loc"] else item["msg"]
        for item in details
    ]
    text = "; ".join(parts[:max_errors])
    if len(parts) > max_errors:
        text += f"; … and {len(parts) - max_errors} more"
    return text
