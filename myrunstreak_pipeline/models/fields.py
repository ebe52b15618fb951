"""Reusable field types for SmashRun payloads (shared by activity.py and nested.py).

Each type accepts exactly the JSON shape real payloads send, never a coercion of something else, and serializes
back to the same shape, so ``model_dump(by_alias=True, exclude_none=True)`` returns the payload SmashRun sent:

* ``Number``: a JSON number (int or float), finite; never a bool or a numeric string.
* ``Integer``: a JSON integer; an integral float (``134.0``) is accepted as the same integer (JSON does not tell
  them apart, and some clients write every number as a float); ``134.5``, bools and strings are not.
* ``Flag``: SmashRun's 0/1 (Python ``True``/``False`` too, for models built in code); dumped as 0/1.
* ``LocalTimestamp`` / ``UtcTimestamp``: ISO strings of SmashRun's shape (checked by a regex before parsing), never
  epoch numbers or numeric strings, no trailing characters; years ``MIN_YEAR..MAX_YEAR``.
* ``ActivityId``: an int (0..2**63-1) or a printable string of 1..64 characters; stored as a string.

The numeric limits live in ``bounds.py``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    ValidationError,
)

from myrunstreak_pipeline.models.bounds import (
    INT64_MAX,
    MAX_ID_CHARS,
    MAX_NOTES_CHARS,
    MAX_TEXT_CHARS,
    MAX_UTC_OFFSET_MINUTES,
    MAX_YEAR,
    MIN_YEAR,
)

# Shared model configuration: camelCase aliases in, snake_case names in Python; errors never echo input.
PAYLOAD_CONFIG = ConfigDict(
    populate_by_name=True,
    extra="ignore",  # additive API changes must not break loads; the raw payload keeps every key
    hide_input_in_errors=True,
    allow_inf_nan=False,
)

INT32_MAX = 2**31 - 1  # DuckDB INTEGER

# --- numbers ----------------------------------------------------------------------------------------------------
# Strict float: int or float only (no bool, no str); allow_inf_nan=False: finite only.
Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]


def _integer(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a JSON integer, not a boolean")
    if isinstance(value, float):
        if not value.is_integer():  # also NaN and infinities
            raise ValueError("must be a whole number")
        return int(value)
    return value  # ints pass; anything else fails the strict int check


Integer = Annotated[int, Strict(), BeforeValidator(_integer)]
NonNegativeInt32 = Annotated[Integer, Field(ge=0, le=INT32_MAX)]


def _flag(value: Any) -> Any:
    # SmashRun flags are the JSON integers 0/1; accept real booleans too (models built in Python).
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise ValueError("must be 0 or 1")


Flag = Annotated[bool, BeforeValidator(_flag), PlainSerializer(int, return_type=int, when_used="unless-none")]

# --- text -------------------------------------------------------------------------------------------------------
Text = Annotated[str, Strict(), Field(max_length=MAX_TEXT_CHARS)]
Notes = Annotated[str, Strict(), Field(max_length=MAX_NOTES_CHARS)]

# --- timestamps -------------------------------------------------------------------------------------------------
_DATE_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
_OFFSET = r"[+-][0-9]{2}:[0-9]{2}"
LOCAL_SHAPE = re.compile(_DATE_TIME + _OFFSET)  # startDateTimeLocal: 2022-11-09T09:12:00-05:00
UTC_SHAPE = re.compile(_DATE_TIME)  # dateCreatedUTC and co: 2022-11-09T15:01:39.44 (no offset)
LOCAL_TEXT_SHAPE = re.compile(_DATE_TIME + f"(?:{_OFFSET})?")  # sunriseLocal/sunsetLocal: offset optional
_MAX_OFFSET = timedelta(minutes=MAX_UTC_OFFSET_MINUTES)


def _check_range(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year must be between {MIN_YEAR} and {MAX_YEAR}")
    offset = value.utcoffset()
    if offset is not None and abs(offset) > _MAX_OFFSET:
        raise ValueError("UTC offset must be within +-14:00")
    return value


def _parse_shaped(value: Any, shape: re.Pattern[str], expected: str) -> datetime:
    if not isinstance(value, str) or shape.fullmatch(value) is None:
        raise ValueError(f"must be an ISO-8601 date-time string of the form {expected}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a valid calendar date and time") from None


def parse_local(value: Any) -> datetime:
    """``startDateTimeLocal``: ``YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM`` -> aware datetime (or ValueError)."""
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError("must carry a UTC offset")
        return _check_range(value)
    return _check_range(_parse_shaped(value, LOCAL_SHAPE, "YYYY-MM-DDTHH:MM:SS±HH:MM"))


def parse_utc(value: Any) -> datetime:
    """A SmashRun UTC stamp ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` (no offset) -> naive UTC datetime (or ValueError).
    Python code may pass a datetime: a naive one is taken as UTC, an aware one is converted."""
    if isinstance(value, datetime):
        if value.utcoffset() is not None:
            try:
                value = value.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:
                raise ValueError("date-time out of range") from None
        return _check_range(value)
    return _check_range(_parse_shaped(value, UTC_SHAPE, "YYYY-MM-DDTHH:MM:SS.fff (UTC, no offset)"))


def _local_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 date-time string")
    _check_range(_parse_shaped(value, LOCAL_TEXT_SHAPE, "YYYY-MM-DDTHH:MM:SS[±HH:MM]"))
    return value  # kept verbatim


def format_utc(value: datetime) -> str:
    """``2022-11-09T15:01:39.44``: SmashRun's UTC style (no offset, 0-6 fractional digits, zeros trimmed)."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text


# UTC timestamp without offset (dateCreatedUTC, dateUpdatedUTC, syncDateTimeUTC); stored naive, in UTC.
UtcTimestamp = Annotated[
    datetime, BeforeValidator(parse_utc), PlainSerializer(format_utc, return_type=str, when_used="unless-none")
]

# Local wall-clock time WITH its UTC offset (startDateTimeLocal); serialized back as "…T09:12:00-05:00".
LocalTimestamp = Annotated[
    AwareDatetime,
    BeforeValidator(parse_local),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="unless-none"),
]

# A local date-time kept as the string SmashRun sent (sunriseLocal, sunsetLocal), shape-checked.
LocalText = Annotated[str, BeforeValidator(_local_text)]

# --- ids --------------------------------------------------------------------------------------------------------
_CANONICAL_INT = re.compile(r"0|[1-9][0-9]{0,18}")


def _activity_id(value: Any) -> Any:
    # SmashRun sends ints; POST responses and some clients use strings. Always stored as str.
    if isinstance(value, bool):
        raise ValueError("must be an integer or a string")
    if isinstance(value, int):
        if not 0 <= value <= INT64_MAX:
            raise ValueError("must be between 0 and 2**63-1")
        return str(value)
    if isinstance(value, str):
        if not value or value.strip() != value or not value.isprintable():
            raise ValueError("must be printable text without surrounding spaces")
        return value
    raise ValueError("must be an integer or a string")


def id_as_sent(value: str) -> int | str:
    """The JSON shape of a stored id: an int when it is a plain decimal integer that fits int64, else the string."""
    if _CANONICAL_INT.fullmatch(value) and int(value) <= INT64_MAX:
        return int(value)
    return value


ActivityId = Annotated[
    str,
    BeforeValidator(_activity_id),
    Field(max_length=MAX_ID_CHARS),
    PlainSerializer(id_as_sent, return_type=int | str),
]


# --- helpers for the sync cursor --------------------------------------------------------------------------------
def updated_epoch(item: Any, key: str = "dateUpdatedUTC") -> float | None:
    """``item[key]`` (a SmashRun UTC timestamp: naive UTC, 0-6 fractional digits) as epoch seconds, or None when
    ``item`` is not a dict or the value is missing or not of that shape (exactly what validation accepts). The
    sync cursor and the sandbox's ``fromDateUTC`` filter both read ``dateUpdatedUTC`` through this."""
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_utc(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC).timestamp()


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
