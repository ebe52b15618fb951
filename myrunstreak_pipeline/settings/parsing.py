"""Parsers for environment values: each names its variable in the error, so the CLI's one line does too."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field


def whole_number(name: str, text: Any, minimum: int) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {str(text)!r}")
    return value


def number(name: str, text: Any, *, minimum: float, inclusive: bool = True) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"{name} is not a number: {str(text)!r}") from None
    if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
        kind = f"a finite number >= {minimum:g}" if inclusive else f"a positive, finite number (> {minimum:g})"
        raise ValueError(f"{name} must be {kind}, got {str(text)!r}")
    return value


def require_http_url(name: str, text: str) -> None:
    """``text`` is an http(s) URL with a host (and a port in range, when one is given)."""
    parsed = urlsplit(text)
    try:
        parsed.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"{name} is not an http(s) URL: {text!r}")


def iso(text: str, parse: Any, message: str) -> str:
    """``text`` unchanged when ``parse`` (an ISO-format parser) accepts it; else ``message`` naming the variable."""
    try:
        parse(text)
    except ValueError:
        raise ValueError(f"{message}: {text!r}") from None
    return text


def variable(name: str, default: Any, description: str, hint: str | None = None, **kwargs: Any) -> Any:
    """A field read from the environment variable ``name``; ``description`` feeds the README's table."""
    return Field(
        default,
        validation_alias=name,
        description=description,
        json_schema_extra={"hint": hint or f"unset {name} for the default"},
        **kwargs,
    )
