"""The sandbox's read API: the endpoints the production client calls (smashrun/client.py), nothing more.

* ``GET /v1/my/activities/search[/briefs|/ids|/extended]``: every live activity, newest first; paged with
  ``page``/``count`` (count clamped to ``max_page_size``) or filtered on update time with ``fromDateUTC``.
* ``GET /v1/my/activities/{id}``: one full activity (recordings, laps...); 404 once deleted.
* ``GET /v1/my/userinfo``.

Listings are served from JSON cached per athlete version, so 20,000+ summaries unpaged cost a string join,
not a re-serialisation.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from myrunstreak_pipeline.models.fields import updated_epoch
from myrunstreak_pipeline.sandbox.athlete import Athlete, SandboxClock
from myrunstreak_pipeline.sandbox.formats import format_utc, parse_utc
from myrunstreak_pipeline.sandbox.responses import NOT_FOUND, BadRequest, Response, json_response, message, not_allowed

STYLES = ("summary", "briefs", "ids", "extended")
BRIEF_KEYS = ("activityId", "startDateTimeLocal", "distance", "duration")
STAMP_KEYS = ("dateUpdatedUTC", "dateCreatedUTC")  # what fromDateUTC filters on, in order of preference


class ApiEndpoints:
    """Part of ``SandboxServer``: the ``/v1/my/...`` reads, over the athlete's state."""

    athlete: Athlete
    clock: SandboxClock

    def _init_api(self) -> None:
        # Tunables (docs/smashrun-api.md §10): public so tests can change them.
        self.max_page_size = 100
        self.default_page_size = 100
        self.list_by_utc_instant = False  # listing order: local wall-clock start (default) or UTC instant
        self._cache_lock = threading.Lock()
        self._cache_version = -1
        self._cache: dict[str, tuple[list[str], list[float], bytes]] = {}

    def _api(self, method: str, rest: str, query: dict) -> Response:
        """``rest``: the path after ``/v1/my``, without a trailing slash."""
        if method != "GET":
            return not_allowed(method)
        match = re.fullmatch(r"/activities/search(?:/([^/]+))?", rest)
        if match:
            style = (match.group(1) or "summary").lower()
            return self._listing(style, query) if style in STYLES else message(404, NOT_FOUND)
        match = re.fullmatch(r"/activities/(\d+)", rest)
        if match:
            activity_id = int(match.group(1))
            full = None if self.athlete.is_deleted(activity_id) else self.athlete.get(activity_id)
            return message(404, "Activity not found.") if full is None else json_response(full)
        if rest == "/userinfo":
            return json_response(self._userinfo())
        return message(404, NOT_FOUND)

    # ----------------------------------------------------------------------------------------- listing

    def _listing(self, style: str, query: dict) -> Response:
        page, count = _int_param(query, "page"), _int_param(query, "count")
        since = query.get("fromDateUTC") or query.get("fromDate")
        texts, updated, whole = self._cached(style)
        if since is not None:
            try:
                cutoff = float(since)
            except ValueError:
                raise BadRequest("fromDate must be a unix timestamp in seconds") from None
            texts = [text for text, stamp in zip(texts, updated) if stamp >= cutoff]
        elif page is None and count is None:
            return Response(200, whole)
        if page is not None or count is not None:
            count = self.default_page_size if count is None else count
            page = page or 0
            if count < 1 or page < 0:
                raise BadRequest("page must be >= 0 and count >= 1")
            count = min(count, self.max_page_size)
            texts = texts[page * count : (page + 1) * count]
        return Response(200, ("[" + ",".join(texts) + "]").encode())

    def _cached(self, style: str) -> tuple[list[str], list[float], bytes]:
        """Per-activity JSON (newest first), update instants and the unpaged body, rebuilt when the athlete changed."""
        key = f"{style}:{'instant' if self.list_by_utc_instant else 'local'}"
        with self._cache_lock:
            if self._cache_version != self.athlete.version:
                self._cache, self._cache_version = {}, self.athlete.version
            entry = self._cache.get(key)
            if entry is not None:
                return entry
            by_instant = self.list_by_utc_instant
            if style in ("ids", "briefs"):  # only the keys served: far cheaper than 20,000 summaries
                keys = ("activityId",) if style == "ids" else BRIEF_KEYS
                version, payloads = self.athlete.listing(keys + STAMP_KEYS, by_instant=by_instant)
            else:
                version, payloads = self.athlete.listing(extended=style == "extended", by_instant=by_instant)
            dumps = json.JSONEncoder(separators=(",", ":")).encode
            if style == "ids":
                texts = [str(int(payload["activityId"])) for payload in payloads]  # str(): 20x faster than dumps
            elif style == "briefs":
                texts = [dumps({k: payload[k] for k in BRIEF_KEYS}) for payload in payloads]
            else:
                texts = [dumps(payload) for payload in payloads]
            entry = (texts, [_listed_epoch(payload) for payload in payloads], ("[" + ",".join(texts) + "]").encode())
            if version != self._cache_version:  # changed since the check above: cache what was read
                self._cache, self._cache_version = {}, version
            self._cache[key] = entry
            return entry

    # ---------------------------------------------------------------------------------------- userinfo

    def _userinfo(self) -> dict:
        athlete = self.athlete
        _version, visible = athlete.listing(("dateCreatedUTC", "startDateTimeLocal"))
        first_created = min((p.get("dateCreatedUTC") or "" for p in visible), default="") or format_utc(
            self.clock.now()
        )
        last_start = visible[0]["startDateTimeLocal"] if visible else None
        offset = self.clock.now().astimezone(ZoneInfo(athlete.home.zone)).utcoffset() or timedelta(0)
        return {
            "id": 100_000 + (athlete.seed or 0),
            "userName": athlete.user_name,
            "firstName": "Sandy",
            "lastName": "Box",
            "registrationDateUTC": format_utc(parse_utc(first_created) - timedelta(days=1)),
            "dateTimeUTCOfLastRun": format_utc(datetime.fromisoformat(last_start)) if last_start else None,
            "unitDistance": "mi",
            "timeZoneOffsetMinutes": int(offset.total_seconds() // 60),
            "timeZone": athlete.home.zone,
        }


def _listed_epoch(payload: dict) -> float:
    """What ``fromDateUTC`` filters on: dateUpdatedUTC, else dateCreatedUTC, else 0 (only an unfiltered listing
    shows the activity)."""
    for key in STAMP_KEYS:
        stamp = updated_epoch(payload, key=key)
        if stamp is not None:
            return stamp
    return 0.0


def _int_param(query: dict, name: str) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
