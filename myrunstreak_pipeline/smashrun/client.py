"""The SmashRun API client: listing, incremental and windowed syncs, id reconciliation, budgeted details.

Listings and details are validated item by item (``results``). Transport: the session retries per
``retry.RetryPolicy`` (one activity's detail per a lighter ``detail_policy``); a 401 forces one token refresh and
one retry; other 4xx fail fast (``errors``). The token travels only in the ``Authorization: Bearer`` header.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import urllib.parse
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import requests
from oauthlib.oauth2 import OAuth2Error
from requests.adapters import HTTPAdapter

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline.smashrun.credentials import credentials_from_settings
from myrunstreak_pipeline.smashrun.errors import (
    InvalidActivityError,
    SmashRunAuthError,
    SmashRunBadResponseError,
    SmashRunNotFoundError,
    SmashRunRateLimitedError,
    SmashRunTokenUnavailableError,
    SmashRunUnavailableError,
    failure_reason,
    raise_for_status,
)
from myrunstreak_pipeline.smashrun.oauth import (
    REAUTH_HINT,
    AppToken,
    RedactingOAuth2Session,
    UserToken,
    quiet_secret_logging,
    require_secure_transport,
)
from myrunstreak_pipeline.smashrun.results import DetailBatch, FetchResult, validate_items, validation_reason
from myrunstreak_pipeline.smashrun.retry import RetryPolicy

log = logging.getLogger(__name__)

STYLE_PATHS = {
    "summary": "/my/activities/search",
    "extended": "/my/activities/search/extended",
    "briefs": "/my/activities/search/briefs",
}
IDS_PATH = "/my/activities/search/ids"
ACTIVITY_PATH = "/my/activities/{id}"
DETAIL_PREFIX = "/my/activities/"  # mounted with detail_policy; /my/activities/search (longer prefix) keeps retry
USERINFO_PATH = "/my/userinfo"
MAX_PAGE_SIZE = 100  # SmashRun's reported maximum `count`
# SmashRun lists "ordered by StartDate": if that is the UTC instant rather than the local wall clock, local dates
# are monotonic only to within the spread of UTC offsets (-12:00..+14:00 = 26 h). A window keeps paging until it
# is this many days before its start, so no run dated in the window is left on an unread page (replace_window
# would flag it deleted).
ORDER_SLACK_DAYS = 2
DETAIL_FAILURES_IN_A_ROW = 3  # this many detail ids failing in a row: SmashRun itself is down, stop the batch


def detail_policy(retry: RetryPolicy) -> RetryPolicy:
    """``retry`` bounded for one activity's detail (a dead id costs at most 3 requests and seconds, not minutes:
    it is retried in later runs): <= 2 status, 1 connect and 1 read retries, a read timeout of <= 30 s."""
    limits = {"status": min(retry.status, 2), "connect": min(retry.connect, 1), "read": min(retry.read, 1)}
    return dataclasses.replace(retry, **limits, timeout=(retry.timeout[0], min(retry.timeout[1], 30.0)))


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


class SmashRunClient:
    """One athlete's SmashRun API. Not thread-safe; use one client per thread/run."""

    def __init__(
        self,
        api_base: str,
        auth: UserToken | AppToken,
        *,
        retry: RetryPolicy | None = None,
        detail_retry: RetryPolicy | None = None,
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
        self._detail_retry = detail_retry or detail_policy(self._retry)
        self.page_size = page_size
        self.max_window_pages = max_window_pages
        self._request_count = 0
        self.refresh_count = 0
        self._session = RedactingOAuth2Session(client_id=auth.client_id, token=auth.token(), **auth.session_kwargs())
        adapter = HTTPAdapter(max_retries=self._retry.build())
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.mount(self.api_base + DETAIL_PREFIX, HTTPAdapter(max_retries=self._detail_retry.build()))
        self._session.mount(self.api_base + STYLE_PATHS["summary"], adapter)
        self._session.headers["Accept"] = "application/json"
        self._session.hooks["response"].append(self._count_response)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **kwargs: Any) -> SmashRunClient:
        if settings is None:
            settings = Settings.from_env()
        return cls(settings.api_base, credentials_from_settings(settings), **kwargs)

    def __repr__(self) -> str:
        return f"SmashRunClient(api_base={self.api_base!r}, auth={self._auth!r})"

    def __enter__(self) -> SmashRunClient:
        return self

    def __exit__(self, *exc: object) -> None:
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
        result = validate_items(items, style)
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
            log.info(
                "window %s..%s needs more than %d pages; one unpaged listing instead",
                start_s,
                end_s,
                self.max_window_pages,
            )
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
        result = validate_items(in_window, style)
        result.requests_used = self._request_count - first
        return result

    def list_updated_since(
        self, epoch_seconds: float, style: str = "extended", margin_seconds: float = 3600
    ) -> FetchResult:
        """New or updated activities since ``epoch_seconds - margin_seconds`` (``fromDateUTC``; one request).

        SmashRun filters on update time, so this catches edits of old runs and late imports.
        """
        start = self._request_count
        since = max(0, int(math.floor(epoch_seconds - margin_seconds)))
        items = self._get_list(self._style_path(style), {"fromDateUTC": since})
        result = validate_items(items, style)
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
        reason = validation_reason(payload, "full")
        if reason is not None:
            raise InvalidActivityError(
                f"activity {activity_id} failed validation: {reason}",
                payload=payload,
                reason=reason,
                status=200,
                path=path,
            )
        return payload

    def fetch_details(
        self, ids: Iterable[Any], budget: int, *, failures_in_a_row: int = DETAIL_FAILURES_IN_A_ROW
    ) -> DetailBatch:
        """Fetch full activities until ``budget`` requests are spent; the rest come back as ``remaining_ids``.

        404 (deleted since listed) → ``missing``; an invalid payload → ``rejects``; no usable answer for the id
        (5xx after the detail retries, not an activity, dropped connection, timeout) → ``failed`` as (id, reason),
        and on, until ``failures_in_a_row`` in a row stop it (``stopped_by="unavailable"``). A rate limit that
        outlasts the retries stops it cleanly (``stopped_by="rate_limit"``). Auth errors and other 4xx raise."""
        queue = [str(i) for i in ids]
        batch = DetailBatch()
        first = self._request_count
        in_a_row = 0
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
            except SmashRunTokenUnavailableError:
                raise  # the token endpoint, not this activity
            except (SmashRunUnavailableError, SmashRunBadResponseError) as error:
                batch.failed.append((activity_id, failure_reason(error)))
                in_a_row += 1
                if in_a_row >= failures_in_a_row:
                    batch.remaining_ids = queue[index + 1 :]
                    batch.stopped_by = "unavailable"
                    break
                continue
            batch.answered_ids.append(activity_id)
            in_a_row = 0
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
        newest, oldest = (_local_date(newest_first_page[0]), _local_date(newest_first_page[-1]))
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
        is_detail = path.startswith(DETAIL_PREFIX) and not path.startswith(STYLE_PATHS["summary"])  # as mounted
        policy = self._detail_retry if is_detail else self._retry
        if self._auth.needs_refresh():
            self._refresh(path)
        try:
            return self._session.get(url, params=params, timeout=policy.timeout)
        except OAuth2Error as error:  # requests-oauthlib's own expiry refresh failed
            raise SmashRunAuthError(
                f"SmashRun refused to refresh the access token ({error.error})", path=path, hint=REAUTH_HINT
            ) from None
        except requests.exceptions.RequestException as error:
            # Counted as attempted: the adapter gave up after its connect/read retries.
            self._request_count += 1 + max(policy.connect, policy.read)
            raise SmashRunUnavailableError(
                f"could not reach SmashRun for {path} ({type(error).__name__} after retries)",
                path=path,
                hint="check the network / SMASHRUN_API_BASE; the next scheduled run will try again",
            ) from None

    def _refresh(self, path: str) -> None:
        try:
            self._auth.refresh(self._session)
        except requests.exceptions.RequestException as error:
            raise SmashRunTokenUnavailableError(
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
        raise_for_status(response, path)
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
