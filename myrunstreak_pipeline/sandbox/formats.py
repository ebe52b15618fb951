"""SmashRun's serialisation of times and numbers, as the sandbox writes them (docs/smashrun-api.md §5, §10 D)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

UTC = UTC


def format_local(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:00±HH:MM``: SmashRun's startDateTimeLocal has minute resolution."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{moment:%Y-%m-%dT%H:%M}:00{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def format_utc(moment: datetime) -> str:
    """UTC without offset, 0–3 fractional digits with trailing zeros trimmed (``…:39.44``, ``…:43``)."""
    moment = moment.astimezone(UTC)
    text = f"{moment:%Y-%m-%dT%H:%M:%S}"
    millis = moment.microsecond // 1000
    if millis:
        text += f".{millis:03d}".rstrip("0")
    return text


def format_utc_minute(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M}:00"


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def number(value: float, digits: int, integral: bool = False) -> float | int:
    """Round like SmashRun; some values arrive as integral JSON numbers (``13``)."""
    return int(round(value)) if integral else round(value, digits)
