"""The SmashRun API client: listing, incremental and windowed syncs, id reconciliation, budgeted details.

Every list/detail response is validated item by item through the Pydantic models; valid items are
returned as the *raw dicts received* (the loader lands raw payloads), invalid ones come back as
``(raw_item, reason)`` rejects - never silently dropped. Transport policy (reliability-guide §3.5):
urllib3 ``Retry`` mounted on the session retries 429/500/502/503/504, connection errors and read timeouts
with capped exponential backoff + jitter and honours ``Retry-After`` (a Retry-After longer than the cap is
not slept through: the call fails with ``SmashRunRateLimitedError``); a 401 forces one token refresh and
one retry; 400/403/404 fail fast. The token travels only in the ``Authorization: Bearer`` header.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable

import requests
from oauthlib.oauth2 import OAuth2Error
from pydantic import ValidationError
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.models import Activity, ActivityBrief, format_validation_error
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline.smashrun.oauth import (
    REAUTH_HINT,
    AppToken,
    RedactingOAuth2Session,
    TokenFile,
    UserToken,
    quiet_secret_logging,
    require_secure_transport,
)

log = logging.getLogger(__name__)

STYLE_PATHS = {
    "summary": "/my/activities/search",
    "extended": "/my/activities/search/extended",
    "briefs": "/my/activities/search/briefs",
}
IDS_PATH = "/my/activities/search/ids"
ACTIVITY_PATH = "/my/activities/{id}"
USERINFO_PATH = "/my/userinfo"
MAX_PAGE_SIZE = 100  # SmashRun's reported maximum `count`
# SmashRun lists "ordered by StartDate": if that is the UTC instant rather than the local wall clock, local dates
# are monotonic only to within the spread of UTC offsets (-12:00..+14:00 = 26 h). A window keeps paging until it
# is this many days before its start, so no run dated in the window is left on an unread page (replace_window
# would flag it deleted).
ORDER_SLACK_DAYS = 2


# ----------------------------------------------------------------------------------------------- errors


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


class SmashRunBadResponseError(SmashRunError):
    """The server answered 2xx with something that is not the JSON shape expected."""


class InvalidActivityError(SmashRunError):
    """A detail payload that failed model validation. ``payload`` is the raw dict, ``reason`` has no values."""

    def __init__(self, message: str, payload: Any, reason: str, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.payload = payload
        self.reason = reason


# ---------------------------------------------------------------------------------------------- results


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
    stopped_by: str | None = None  # None (all done), "budget" or "rate_limit"


def deleted_ids(stored_ids: Iterable[Any], upstream_ids: Iterable[Any]) -> set[str]:
    """Ids stored locally that SmashRun no longer lists (flagged deleted upstream)."""
    return {str(i) for i in stored_ids} - {str(i) for i in upstream_ids}


# ---------------------------------------------------------------------------------------------- retries


@dataclass(frozen=True)
class RetryPolicy:
    """Transport retry settings. Worst-case wait ~ status * max(backoff_max, retry_after_max)."""

    status: int = 4  # retries on 429/500/502/503/504
    connect: int = 3
    read: int = 3
    backoff_factor: float = 1.0  # sleeps backoff_factor * 2**(n-1) (+ jitter), capped at backoff_max
    backoff_max: float = 60.0
    backoff_jitter: float = 1.0
    retry_after_max: int = 120  # a longer Retry-After is not waited for: SmashRunRateLimitedError
    timeout: tuple[float, float] = (10.0, 120.0)  # (connect, read) seconds

    def build(self) -> Retry:
        return _CappedRetry(
            total=self.status + self.connect + self.read,
            status=self.status,
            connect=self.connect,
            read=self.read,
            other=0,
            redirect=0,
            status_forcelist={429, 500, 502, 503, 504},
            allowed_methods={"GET"},  # the token POST is never blindly retried
            backoff_factor=self.backoff_factor,
            backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_jitter,
            retry_after_max=self.retry_after_max,
            respect_retry_after_header=True,
            raise_on_status=False,  # hand back the last response; we turn it into a clear error
        )


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _CappedRetry(Retry):
    """urllib3 ``Retry`` that gives up at once (instead of sleeping a capped, too-short time) when the
    server's Retry-After exceeds ``retry_after_max`` - e.g. an exhausted hourly quota."""

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # type: ignore[no-untyped-def, override]
        if response is not None and self.respect_retry_after_header:
            wait = _retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None and wait > self.retry_after_max:
                raise MaxRetryError(_pool, url or "", None)  # with raise_on_status=False: response returned
        return super().increment(method, url, response, error, _pool, _stacktrace)


# ----------------------------------------------------------------------------------------------- client


def _local_date(item: Any) -> str | None:
    """The run's local calendar date: the first 10 chars of ``startDateTimeLocal`` (never converted)."""
    value = item.get("startDateTimeLocal") if isinstance(item, dict) else None
    if isinstance(value, str) and len(value) >= 10:
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            return None
        return value[:10]
    return None


def credentials_from_settings(settings: Settings) -> UserToken | AppToken:
    """SMASHRUN_ACCESS_TOKEN (user-level) wins when set; otherwise client id/secret + the token file."""
    if settings.access_token:
        return UserToken(settings.access_token)
    if settings.client_id and settings.client_secret:
        return AppToken(settings.client_id, settings.client_secret, TokenFile(settings.token_file), settings.auth_base)
    raise MyRunStreakError(
        "no SmashRun credentials configured",
        hint="set SMASHRUN_ACCESS_TOKEN (a user-level token), or SMASHRUN_CLIENT_ID + SMASHRUN_CLIENT_SECRET "
        "and run `myrunstreak auth` to create SMASHRUN_TOKEN_FILE",
    )


class SmashRunClient:
    """One athlete's SmashRun API. Not thread-safe; use one client per thread/run."""

    def __init__(
        self,
        api_base: str,
        auth: UserToken | AppToken,
        *,
        retry: RetryPolicy | None = None,
        page_size: int = MAX_PAGE_SIZE,
        max_window_pages: int = 3,
    ):
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be in 1..{MAX_PAGE_SIZE}")
        quiet_secret_logging()
        self.api_base = api_base.rstrip("/")
        urls = [self.api_base] + ([auth.token_url] if isinstance(auth, AppToken) else [])
        require_secure_transport(*urls)
        self._auth = auth
        self._retry = retry or RetryPolicy()
        self.page_size = page_size
        self.max_window_pages = max_window_pages
        self._request_count = 0
        self.refresh_count = 0
        self._session = RedactingOAuth2Session(client_id=auth.client_id, token=auth.token(), **auth.session_kwargs())
        adapter = HTTPAdapter(max_retries=self._retry.build())
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["Accept"] = "application/json"
        self._session.hooks["response"].append(self._count_response)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: Any) -> "SmashRunClient":
        if settings is None:
            settings = Settings.from_env()
        return cls(settings.api_base, credentials_from_settings(settings), **kwargs)

    def __repr__(self) -> str:
        return f"SmashRunClient(api_base={self.api_base!r}, auth={self._auth!r})"

    def __enter__(self) -> "SmashRunClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    @property
    def request_count(self) -> int:
        """API requests actually sent (retries included; token-endpoint calls excluded)."""
        return self._request_count

    # ------------------------------------------------------------------------------------ public API

    def list_activities(self, style: str = "extended") -> FetchResult:
        """The whole history in ONE unpaged request (what SmashRun asks exhaustive syncs to do)."""
        start = self._request_count
        items = self._get_list(self._style_path(style), None)
        result = self._validate_items(items, style)
        result.requests_used = self._request_count - start
        return result

    def list_activities_in_window(self, start: date, end_exclusive: date, style: str = "extended") -> FetchResult:
        """Activities whose *local* date is in ``[start, end_exclusive)``.

        SmashRun has no start-date filter and lists newest first, so page (count=100) until a page reaches
        ``ORDER_SLACK_DAYS`` before ``start``. When page 0 shows that would take more than ``max_window_pages``
        pages, or the pages run out before reaching it, make ONE unpaged call instead.
        """
        if end_exclusive <= start:
            raise ValueError("end_exclusive must be after start")
        first = self._request_count
        path = self._style_path(style)
        start_s, end_s = start.isoformat(), end_exclusive.isoformat()
        read_until = start - timedelta(days=ORDER_SLACK_DAYS)

        items: list[Any] = []
        complete = False
        for page in range(self.max_window_pages):
            batch = self._get_list(path, {"page": page, "count": self.page_size})
            items.extend(batch)
            oldest = _local_date(batch[-1]) if batch else None
            if len(batch) < self.page_size or (oldest is not None and oldest < read_until.isoformat()):
                complete = True
                break
            if page == 0 and self._pages_needed(batch, read_until) > self.max_window_pages:
                break
        if not complete:
            log.info("window %s..%s needs more than %d pages; one unpaged listing instead", start_s, end_s, self.max_window_pages)
            items = self._get_list(path, None)

        in_window = []
        seen: set[str] = set()
        for item in items:
            day = _local_date(item)
            if day is not None and not (start_s <= day < end_s):
                continue  # outside the window (invalid ones there belong to their own window's result)
            key = str(item.get("activityId")) if isinstance(item, dict) else None
            if key is not None and key != "None":
                if key in seen:  # pages can overlap when data changes between page requests
                    continue
                seen.add(key)
            in_window.append(item)
        result = self._validate_items(in_window, style)
        result.requests_used = self._request_count - first
        return result

    def list_updated_since(self, epoch_seconds: float, style: str = "extended", margin_seconds: float = 3600) -> FetchResult:
        """New or updated activities since ``epoch_seconds - margin_seconds`` (``fromDateUTC``; one request).

        SmashRun filters on update time, so this catches edits of old runs and late imports.
        """
        start = self._request_count
        since = max(0, int(math.floor(epoch_seconds - margin_seconds)))
        items = self._get_list(self._style_path(style), {"fromDateUTC": since})
        result = self._validate_items(items, style)
        result.requests_used = self._request_count - start
        return result

    def list_ids(self) -> list[str]:
        """Every live activity id (unpaged ``/search/ids``), as strings - for deletion reconciliation.

        Any malformed element fails the call: a bad id list must never be mistaken for deletions.
        """
        items = self._get_list(IDS_PATH, None)
        ids = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, str)) or not str(item).isdigit():
                raise SmashRunBadResponseError(
                    f"SmashRun returned a malformed id list (an element of type {type(item).__name__})",
                    status=200,
                    path=IDS_PATH,
                )
            ids.append(str(item))
        return ids

    def get_activity(self, activity_id: Any) -> dict[str, Any]:
        """One full activity (recordings, laps, ...) as the raw dict received, after validating it."""
        path = ACTIVITY_PATH.format(id=urllib.parse.quote(str(activity_id), safe=""))
        payload = self._get_json(path, None)
        if not isinstance(payload, dict):
            raise SmashRunBadResponseError(
                f"SmashRun returned a {type(payload).__name__} instead of an activity object", status=200, path=path
            )
        reason = _validation_reason(payload, "full")
        if reason is not None:
            raise InvalidActivityError(
                f"activity {activity_id} failed validation: {reason}", payload=payload, reason=reason, status=200, path=path
            )
        return payload

    def fetch_details(self, ids: Iterable[Any], budget: int) -> DetailBatch:
        """Fetch full activities until ``budget`` requests are spent; the rest come back as ``remaining_ids``.

        A 404 (deleted since listed) goes to ``missing``; an invalid payload to ``rejects``; a rate limit
        that outlasts the retries stops the batch cleanly (``stopped_by="rate_limit"``).
        """
        queue = [str(i) for i in ids]
        batch = DetailBatch()
        first = self._request_count
        for index, activity_id in enumerate(queue):
            if self._request_count - first >= budget:
                batch.remaining_ids = queue[index:]
                batch.stopped_by = "budget"
                break
            try:
                batch.fetched.append(self.get_activity(activity_id))
            except InvalidActivityError as error:
                batch.rejects.append((error.payload, error.reason))
            except SmashRunNotFoundError:
                batch.missing.append(activity_id)
            except SmashRunRateLimitedError:
                batch.remaining_ids = queue[index:]
                batch.stopped_by = "rate_limit"
                break
        batch.requests_used = self._request_count - first
        return batch

    def userinfo(self) -> dict[str, Any]:
        payload = self._get_json(USERINFO_PATH, None)
        if not isinstance(payload, dict):
            raise SmashRunBadResponseError("SmashRun returned a malformed userinfo", status=200, path=USERINFO_PATH)
        return payload

    # ------------------------------------------------------------------------------------- internals

    @staticmethod
    def _style_path(style: str) -> str:
        try:
            return STYLE_PATHS[style]
        except KeyError:
            raise ValueError(f"unknown listing style {style!r}; one of {sorted(STYLE_PATHS)}") from None

    def _pages_needed(self, newest_first_page: list[Any], start: date) -> float:
        """Estimate pages to reach ``start`` from the date span one full page covered."""
        newest, oldest = _local_date(newest_first_page[0]), _local_date(newest_first_page[-1])
        if newest is None or oldest is None:
            return 1.0  # cannot tell; keep paging
        span = max(1, (date.fromisoformat(newest) - date.fromisoformat(oldest)).days)
        return (date.fromisoformat(newest) - start).days / span

    def _count_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if not response.url.startswith(self.api_base):
            return  # token endpoint traffic is not API quota
        retries = getattr(response.raw, "retries", None)
        history = getattr(retries, "history", None) or ()
        self._request_count += 1 + len(history)

    def _send(self, path: str, params: dict[str, Any] | None) -> requests.Response:
        url = self.api_base + path
        if self._auth.needs_refresh():
            self._refresh(path)
        try:
            return self._session.get(url, params=params, timeout=self._retry.timeout)
        except OAuth2Error as error:  # requests-oauthlib's own expiry refresh failed
            raise SmashRunAuthError(
                f"SmashRun refused to refresh the access token ({error.error})", path=path, hint=REAUTH_HINT
            ) from None
        except requests.exceptions.RequestException as error:
            # Counted as attempted: the adapter gave up after its connect/read retries.
            self._request_count += 1 + self._retry.connect
            raise SmashRunUnavailableError(
                f"could not reach SmashRun for {path} ({type(error).__name__} after retries)",
                path=path,
                hint="check the network / SMASHRUN_API_BASE; the next scheduled run will try again",
            ) from None

    def _refresh(self, path: str) -> None:
        try:
            self._auth.refresh(self._session)
        except requests.exceptions.RequestException as error:
            raise SmashRunUnavailableError(
                f"could not reach the SmashRun token endpoint ({type(error).__name__})", path=path
            ) from None
        except MyRunStreakError as error:  # refused (invalid_grant ...) or no refresh token: same class as a 401
            raise SmashRunAuthError(str(error), path=path, hint=error.hint) from None
        self.refresh_count += 1

    def _get_json(self, path: str, params: dict[str, Any] | None) -> Any:
        response = self._send(path, params)
        if response.status_code == 401:
            if not self._auth.can_refresh:
                self._raise_user_token_rejected(path)
            self._refresh(path)  # one forced refresh, one retry
            response = self._send(path, params)
            if response.status_code == 401:
                raise SmashRunAuthError(
                    "SmashRun still rejects the access token after a refresh (HTTP 401)",
                    status=401,
                    path=path,
                    hint="the authorization may have been revoked: run `myrunstreak auth`",
                )
        self._raise_for_status(response, path)
        try:
            return response.json()
        except ValueError:
            raise SmashRunBadResponseError(
                f"SmashRun returned a body that is not JSON for {path} "
                f"({len(response.content)} bytes, content-type {response.headers.get('Content-Type')!r})",
                status=response.status_code,
                path=path,
                hint="a transient upstream problem; the next run will try again",
            ) from None

    def _get_list(self, path: str, params: dict[str, Any] | None) -> list[Any]:
        payload = self._get_json(path, params)
        if not isinstance(payload, list):
            raise SmashRunBadResponseError(
                f"SmashRun returned a {type(payload).__name__} instead of a list for {path}", status=200, path=path
            )
        return payload

    def _raise_user_token_rejected(self, path: str) -> None:
        raise SmashRunAuthError(
            "SmashRun rejected the user-level access token (HTTP 401)",
            status=401,
            path=path,
            hint="SMASHRUN_ACCESS_TOKEN cannot be refreshed: get a new one from the SmashRun API explorer, or set "
            "SMASHRUN_CLIENT_ID + SMASHRUN_CLIENT_SECRET and run `myrunstreak auth`",
        )

    @staticmethod
    def _raise_for_status(response: requests.Response, path: str) -> None:
        status = response.status_code
        if status < 400:
            return
        if status == 404:
            raise SmashRunNotFoundError(f"SmashRun has no {path} (HTTP 404)", status=status, path=path)
        if status == 429:
            wait = _retry_after_seconds(response.headers.get("Retry-After"))
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

    @staticmethod
    def _validate_items(items: list[Any], style: str) -> FetchResult:
        result = FetchResult()
        for item in items:
            reason = _validation_reason(item, style)
            if reason is None:
                result.activities.append(item)
            else:
                result.rejects.append((item, reason))
        return result


# ------------------------------------------------------------------------------------------- validation


def _validation_reason(item: Any, style: str) -> str | None:
    """None when ``item`` validates, else a reason with field paths and messages but no input values."""
    if not isinstance(item, dict):
        return f"expected a JSON object, got {type(item).__name__}"
    model = ActivityBrief if style == "briefs" else Activity
    try:
        model.model_validate(item)
    except ValidationError as error:
        return format_validation_error(error)
    return None
