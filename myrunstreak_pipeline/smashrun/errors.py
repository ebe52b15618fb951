"""Errors of SmashRun calls, and how a final HTTP answer maps to them.

Every class is a ``MyRunStreakError`` (one line plus a hint, printed by the CLI without a traceback). Messages
carry the request path without its query and never the token.
"""

from __future__ import annotations

from typing import Any

import requests

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.smashrun.retry import retry_after_seconds


class SmashRunError(MyRunStreakError):
    """A failed SmashRun call. Carries ``status`` (None when no HTTP response) and ``path`` (no query, no token)."""

    def __init__(self, message: str, status: int | None = None, path: str | None = None, hint: str | None = None):
        super().__init__(message, hint)
        self.status = status
        self.path = path


class SmashRunAuthError(SmashRunError):
    """401 that a refresh could not fix, or a user-level token that cannot be refreshed."""


class SmashRunNotFoundError(SmashRunError):
    """404: the activity (or resource) does not exist - e.g. deleted upstream."""


class SmashRunRateLimitedError(SmashRunError):
    """429 still returned after the retries, or a Retry-After longer than the configured cap."""

    def __init__(self, message: str, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class SmashRunUnavailableError(SmashRunError):
    """No usable answer: connection errors/timeouts or 5xx after the retries."""


class SmashRunTokenUnavailableError(SmashRunUnavailableError):
    """The token endpoint could not be reached for a refresh: no API resource is at fault (never per-id)."""


class SmashRunBadResponseError(SmashRunError):
    """The server answered 2xx with something that is not the JSON shape expected."""


class InvalidActivityError(SmashRunError):
    """A detail payload that failed model validation. ``payload`` is the raw dict, ``reason`` has no values."""

    def __init__(self, message: str, payload: Any, reason: str, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.payload = payload
        self.reason = reason


def failure_reason(error: SmashRunError, limit: int = 200) -> str:
    """A short reason for a failed call, fit to store: the message (which never holds a token, a query or any
    of the body's text) without the request path, at most ``limit`` characters."""
    text = str(error)
    if error.path:
        text = text.replace(f" for {error.path}", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def raise_for_status(response: requests.Response, path: str) -> None:
    """Turn the last answer (after the transport's retries) into the matching error; 2xx/3xx pass.

    The client deals with a 401 (one refresh, one retry) before calling this. 404 and 429 have their own
    classes so a detail batch can skip a deleted activity or stop cleanly at the quota.
    """
    status = response.status_code
    if status < 400:
        return
    if status == 404:
        raise SmashRunNotFoundError(f"SmashRun has no {path} (HTTP 404)", status=status, path=path)
    if status == 429:
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        after = f"; retry after {wait:.0f} s" if wait is not None else ""
        raise SmashRunRateLimitedError(
            f"SmashRun rate limit hit for {path} (HTTP 429{after})",
            retry_after=wait,
            status=status,
            path=path,
            hint="SmashRun allows about 250 requests per hour; the next run resumes where this one stopped",
        )
    if status >= 500:
        raise SmashRunUnavailableError(
            f"SmashRun failed with HTTP {status} for {path} (after retries)", status=status, path=path
        )
    hint = "the app may lack the read_activity scope: run `myrunstreak auth`" if status == 403 else None
    raise SmashRunError(f"SmashRun refused {path} (HTTP {status})", status=status, path=path, hint=hint)
