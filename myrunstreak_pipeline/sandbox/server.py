"""An offline SmashRun: OAuth host and API host on one loopback port, faithful to docs/smashrun-api.md §10.

    with SandboxServer(years=3, seed=7, token="test-token") as sb:
        requests.get(f"{sb.api_base}/my/activities", headers={"Authorization": "Bearer test-token"})

Real HTTP (``http.server.ThreadingHTTPServer``), a controllable clock (token expiry, rolling-hour rate limit,
``dateUpdatedUTC`` bumps), injectable faults (status codes, garbage bodies, delays, dropped connections) and
a request log with secrets redacted. Listings are served from JSON cached per athlete state version, so
20,000+ summaries unpaged cost a string join, not a re-serialisation.
"""

from __future__ import annotations

import html
import json
import logging
import math
import re
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from myrunstreak_pipeline.sandbox.athlete import (
    BRIEF_KEYS, HOME_ZONE, MILE_KM, PATCHABLE_KEYS, Athlete, SandboxClock, format_utc, parse_utc,
)

log = logging.getLogger(__name__)

UTC = timezone.utc
TWELVE_WEEKS = 12 * 7 * 24 * 3600  # 7,257,600 s: access and refresh tokens
SIXTY_DAYS = 60 * 24 * 3600        # implicit ("user-level") tokens
CODE_TTL = 600
KNOWN_SCOPES = frozenset({"read_activity", "write_activity"})
OOB_REDIRECTS = ("urn:ietf:wg:oauth:2.0:oob", "urn:ietf:wg:oauth:2.0:auto")
DENIED = {"Message": "Authorization has been denied for this request."}
SECRET_PARAMS = frozenset({"access_token", "refresh_token", "code", "client_secret", "token"})
REDACTED = "<redacted>"
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class RequestRecord:
    """One served request. ``query`` has secret values redacted; ``status`` 0 means the connection was dropped."""

    method: str
    path: str
    query: dict
    status: int


@dataclass
class _Fault:
    kind: str  # "status" | "garbage" | "delay" | "drop"
    remaining: int | None  # None = always
    path_prefix: str
    status: int = 200
    retry_after: int | None = None
    seconds: float = 0.0


@dataclass
class _Grant:
    """What a token or code stands for. ``client_id`` None = not bound to a client (sandbox-issued)."""

    client_id: str | None
    scope: frozenset
    expires_at: float
    redirect_uri: str | None = None


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict = field(default_factory=dict)


def _json(obj: object, status: int = 200, headers: dict | None = None) -> _Response:
    return _Response(status, json.dumps(obj, separators=(",", ":")).encode(), JSON_TYPE, headers or {})


def _message(status: int, message: str, headers: dict | None = None) -> _Response:
    return _json({"Message": message}, status, headers)


def _oauth_error(status: int, error: str, description: str) -> _Response:
    return _json({"error": error, "error_description": description}, status, {"Cache-Control": "no-store"})


class _BadRequest(Exception):
    pass


# ------------------------------------------------------------------------------------------ the server


class SandboxServer:
    """The sandbox: athlete state + OAuth + API + faults, served over HTTP on ``host:port`` (0 = any free)."""

    def __init__(self, activities: list[dict] | None = None, years: int = 3, seed: int = 7,
                 token: str | None = "test-token", rate_limit: int | None = 250, host: str = "127.0.0.1",
                 port: int = 0, today: date | None = None):
        if today is not None:  # a pinned history: evening of that day at home, so the day's runs are done
            clock = SandboxClock(datetime.combine(today, clock_time(21),
                                                  tzinfo=ZoneInfo(HOME_ZONE)))
        else:
            clock = SandboxClock()
        self.clock = clock
        if activities is not None:
            self.athlete = Athlete.from_payloads(activities, clock)
        else:
            self.athlete = Athlete.synthetic(years, seed, clock, today)
        self.host, self.port = host, port
        self.rate_limit = rate_limit
        # Tunables (docs/smashrun-api.md §10): all public so tests can change them.
        self.max_page_size = 100
        self.default_page_size = 100
        self.access_token_ttl = TWELVE_WEEKS
        self.refresh_token_ttl = TWELVE_WEEKS
        self.implicit_token_ttl = SIXTY_DAYS
        self.rotate_refresh_tokens = True
        self.list_by_utc_instant = False  # listing order: local wall-clock start (default) or UTC instant
        self.requests: list[RequestRecord] = []
        self._lock = threading.RLock()
        self._clients: dict[str, str] = {}
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._hits: dict[str, deque] = {}
        self._faults: list[_Fault] = []
        self._weights: list[dict] = []
        self._cache_version = -1
        self._cache: dict[str, tuple[list[int], list[str], list[float], bytes]] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        if token:
            self._access[token] = _Grant(None, KNOWN_SCOPES, clock.timestamp() + self.access_token_ttl)

    # ------------------------------------------------------------------------------------- lifecycle

    def start(self) -> "SandboxServer":
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"smashrun-sandbox-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_all_connections()  # keep-alive connections must not outlive the server
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def auth_base(self) -> str:
        return self.base_url

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v1"

    def __repr__(self) -> str:
        return f"SandboxServer(base_url={self.base_url!r}, activities={len(self.athlete)})"

    # --------------------------------------------------------------------------- test-facing helpers

    def register_client(self, client_id: str, client_secret: str) -> None:
        """Register an OAuth app; any loopback or OOB redirect URI is accepted for it."""
        with self._lock:
            self._clients[client_id] = client_secret

    def issue_token(self, expires_in: int | None = None, refresh: bool = True,
                    scope: str = "read_activity write_activity", client_id: str | None = None) -> dict:
        """A token response as ``/oauth2/token`` would return it (refresh token usable by any registered app
        unless ``client_id`` is given)."""
        with self._lock:
            return self._issue(client_id, frozenset(scope.split()), refresh, expires_in)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def inject(self, status: int = 503, count: int | None = 1, path_prefix: str = "/v1",
               retry_after: int | None = None) -> None:
        """The next ``count`` requests under ``path_prefix`` (None = all of them) get ``status``."""
        self._add_fault(_Fault("status", count, path_prefix, status=status, retry_after=retry_after))

    def inject_garbage(self, count: int | None = 1, path_prefix: str = "/v1") -> None:
        """200 with an HTML (non-JSON) body, like a proxy error page."""
        self._add_fault(_Fault("garbage", count, path_prefix))

    def inject_delay(self, seconds: float, count: int | None = 1, path_prefix: str = "/v1") -> None:
        if not 0 <= seconds <= 300:
            raise ValueError("delay must be between 0 and 300 seconds")
        self._add_fault(_Fault("delay", count, path_prefix, seconds=seconds))

    def inject_drop(self, count: int | None = 1, path_prefix: str = "/v1") -> None:
        """Close the connection without any response."""
        self._add_fault(_Fault("drop", count, path_prefix))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, fault: _Fault) -> None:
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("count must be >= 1 or None (always)")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _record(self, method: str, path: str, query: dict, status: int) -> None:
        safe_query = {k: (REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in query.items()}
        safe_path = _redact_path(path)
        with self._lock:
            self.requests.append(RequestRecord(method, safe_path, safe_query, status))
        log.debug("%s %s %s -> %s", method, safe_path, safe_query, status)

    # ------------------------------------------------------------------------------------- dispatch

    def handle(self, method: str, path: str, query: dict, headers, body: bytes) -> _Response:
        if path.startswith("/oauth2/"):
            if path.rstrip("/") == "/oauth2/authenticate" and method in ("GET", "POST"):
                return self._authenticate(query)
            if path.rstrip("/") == "/oauth2/token" and method == "POST":
                return self._token(headers, body)
            return _json({"error": "not_found"}, 404)
        match = re.fullmatch(r"/v1/auth/([^/]+)/?", path)
        if match:
            return self._token_info(method, match.group(1))
        if not path.startswith("/v1/"):
            return _message(404, "No HTTP resource was found that matches the request URI.")
        token = self._bearer(headers, query)
        with self._lock:
            grant = self._access.get(token) if token else None
            if grant is None or grant.expires_at <= self.clock.timestamp():
                return _json(DENIED, 401, {"WWW-Authenticate": 'Bearer realm="smashrun"'})
            limited = self._rate_limited(token)
        if limited is not None:
            return limited
        parts = path.split("/", 3)  # "", "v1", user, rest
        user = parts[2] if len(parts) > 2 else ""
        if user.lower() not in ("my", self.athlete.user_name.lower()):
            return _message(404, "No HTTP resource was found that matches the request URI.")
        rest = "/" + (parts[3] if len(parts) > 3 else "")
        if method in ("POST", "PUT", "PATCH", "DELETE") and "write_activity" not in grant.scope \
                and not rest.startswith("/body/"):
            return _message(403, "The write_activity permission is required.")
        try:
            return self._api(method, rest.rstrip("/") or "/", query, headers, body)
        except _BadRequest as error:
            return _message(400, str(error))

    @staticmethod
    def _bearer(headers, query: dict) -> str | None:
        authorization = headers.get("Authorization") or ""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return query.get("access_token") or None

    def _rate_limited(self, token: str) -> _Response | None:
        """Rolling hour on the sandbox clock, per token; refused requests do not count."""
        if not self.rate_limit:
            return None
        now = self.clock.timestamp()
        hits = self._hits.setdefault(token, deque())
        while hits and hits[0] <= now - 3600:
            hits.popleft()
        if len(hits) >= self.rate_limit:
            retry_after = max(1, math.ceil(hits[0] + 3600 - now))
            return _message(429, "Rate limit exceeded", {"Retry-After": str(retry_after)})
        hits.append(now)
        return None

    # ------------------------------------------------------------------------------------------- OAuth

    def _issue(self, client_id: str | None, scope: frozenset, refresh: bool, expires_in: int | None = None,
               state: str | None = None) -> dict:
        now = self.clock.timestamp()
        ttl = self.access_token_ttl if expires_in is None else int(expires_in)
        access = secrets.token_urlsafe(30)
        self._access[access] = _Grant(client_id, scope, now + ttl)
        response = {"access_token": access, "token_type": "Bearer", "expires_in": ttl}
        if refresh:
            refresh_token = secrets.token_urlsafe(30)
            self._refresh[refresh_token] = _Grant(client_id, scope, now + self.refresh_token_ttl)
            response["refresh_token"] = refresh_token
        if state:
            response["state"] = state
        return response

    def _authenticate(self, query: dict) -> _Response:
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri") or OOB_REDIRECTS[0]
        response_type = query.get("response_type", "")
        state = query.get("state")
        if not _redirect_allowed(redirect_uri):  # never redirect to an unvetted address
            return _Response(400, b"<html><title>invalid_request</title><body>redirect_uri must be a loopback"
                                  b" or OOB address</body></html>", "text/html; charset=utf-8")
        implicit = response_type == "token"

        def reply(params: dict) -> _Response:
            if state:
                params["state"] = state
            if redirect_uri in OOB_REDIRECTS:
                title = params.get("code") or params.get("access_token") or f"error={params.get('error')}"
                page = f"<html><head><title>{html.escape(title)}</title></head><body>{html.escape(title)}" \
                       f"</body></html>"
                return _Response(200, page.encode(), "text/html; charset=utf-8")
            separator = "#" if implicit else ("&" if "?" in redirect_uri else "?")
            return _Response(302, b"", "text/plain", {"Location": redirect_uri + separator + urlencode(params)})

        if response_type not in ("code", "token"):
            return reply({"error": "unsupported_response_type",
                          "error_description": "response_type must be 'code' or 'token'"})
        with self._lock:
            known = client_id in self._clients or (client_id == "client" and implicit)
        if not known:
            error = "unauthorized_client" if client_id == "client" else "invalid_client"
            return reply({"error": error, "error_description": "Unknown client_id for this flow"})
        scope = frozenset((query.get("scope") or "read_activity").replace(",", " ").split())
        if not scope <= KNOWN_SCOPES:
            return reply({"error": "invalid_scope", "error_description": "Known scopes: read_activity "
                                                                         "write_activity"})
        with self._lock:
            if implicit:
                ttl = self.implicit_token_ttl
                token = self._issue(client_id, scope, refresh=False, expires_in=ttl)
                return reply({"access_token": token["access_token"], "token_type": "Bearer", "expires_in": ttl})
            code = secrets.token_urlsafe(24)
            self._codes[code] = _Grant(client_id, scope, self.clock.timestamp() + CODE_TTL, redirect_uri)
        return reply({"code": code})

    def _token(self, headers, body: bytes) -> _Response:
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request", "The token request must be form-encoded")
        form = _flatten(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        with self._lock:
            expected = self._clients.get(client_id)
            if expected is None or not secrets.compare_digest(expected.encode(), client_secret.encode()):
                return _oauth_error(401, "invalid_client", "Could not authenticate with client_id and client_secret")
            grant_type = form.get("grant_type", "")
            now = self.clock.timestamp()
            if grant_type == "authorization_code":
                grant = self._codes.pop(form.get("code", ""), None)  # single use, even when it fails
                if grant is None or grant.expires_at <= now or grant.client_id != client_id:
                    return _oauth_error(400, "invalid_grant", "The authorization code is invalid, expired or used")
                if form.get("redirect_uri") and form["redirect_uri"] != grant.redirect_uri:
                    return _oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization")
                return _json(self._issue(client_id, grant.scope, True, state=form.get("state")), 200,
                             {"Cache-Control": "no-store"})
            if grant_type == "refresh_token":
                value = form.get("refresh_token") or form.get("code") or ""  # TTWatcher sends it as `code`
                grant = self._refresh.get(value)
                if grant is None or grant.expires_at <= now or grant.client_id not in (None, client_id):
                    return _oauth_error(400, "invalid_grant", "The refresh token is invalid, expired or revoked")
                if self.rotate_refresh_tokens:
                    del self._refresh[value]
                return _json(self._issue(client_id, grant.scope, True, state=form.get("state")), 200,
                             {"Cache-Control": "no-store"})
            if not grant_type:
                return _oauth_error(400, "invalid_request", "grant_type is required")
            return _oauth_error(400, "unsupported_grant_type", "Supported: authorization_code, refresh_token")

    def _token_info(self, method: str, token: str) -> _Response:
        with self._lock:
            grant = self._access.get(token)
            if method == "DELETE":
                self._access.pop(token, None)
                return _json({})
            if method != "GET":
                return _message(405, f"The requested resource does not support http method '{method}'.")
            remaining = 0 if grant is None else max(0, int(grant.expires_at - self.clock.timestamp()))
        return _json({"expires_in": remaining})

    # --------------------------------------------------------------------------------------------- API

    def _api(self, method: str, rest: str, query: dict, headers, body: bytes) -> _Response:
        athlete = self.athlete
        if rest == "/activities":
            if method == "GET":
                return self._listing("summary", query)
            if method in ("POST", "PUT"):
                return self._write_activities(method, headers, body)
            return _not_allowed(method)
        match = re.fullmatch(r"/activities/search(?:/([^/]+))?", rest)
        if match:
            style = (match.group(1) or "summary").lower()
            if style not in ("summary", "briefs", "ids", "extended"):
                return _message(404, "No HTTP resource was found that matches the request URI.")
            return self._listing(style, query) if method == "GET" else _not_allowed(method)
        match = re.fullmatch(r"/activities/(\d+)(/.*)?", rest)
        if match:
            activity_id, sub = int(match.group(1)), match.group(2) or ""
            if activity_id not in athlete._payloads or athlete.is_deleted(activity_id):
                return _message(404, "Activity not found.")
            return self._activity(method, activity_id, sub, headers, body)
        if method != "GET" and not rest.startswith("/body/weight"):
            return _not_allowed(method)
        if rest == "/userinfo":
            return _json(self._userinfo())
        match = re.fullmatch(r"/stats(?:/(\d{4})(?:/(\d{1,2}))?)?", rest)
        if match:
            year, month = (int(g) if g else None for g in match.groups())
            if month is not None and not 1 <= month <= 12:
                return _message(404, "No such month.")
            return _json(_stats(self._visible(), year, month, self._today()))
        match = re.fullmatch(r"/badges(/new)?", rest)
        if match:
            badges = _badges(self._visible())
            if match.group(1):
                week_ago = format_utc(self.clock.now() - timedelta(days=7))
                badges = [badge for badge in badges if badge["dateEarnedUTC"] >= week_ago]
            return _json(badges)
        match = re.fullmatch(r"/goals/(\d{4})(?:/(\d{1,2}))?", rest)
        if match:
            year, month = int(match.group(1)), int(match.group(2)) if match.group(2) else None
            if month is not None and not 1 <= month <= 12:
                return _message(404, "No such month.")
            return _json(_goal(self._visible(), year, month))
        if rest in ("/body/weight", "/body/weight/latest"):
            return self._weight(method, rest.endswith("/latest"), headers, body)
        return _message(404, "No HTTP resource was found that matches the request URI.")

    def _visible(self) -> list[dict]:
        with self.athlete._lock:
            return [self.athlete._payloads[i] for i in self.athlete.sorted_ids()]

    def _today(self) -> date:
        return self.clock.now().astimezone(ZoneInfo(self.athlete.home.zone)).date()

    # ----------------------------------------------------------------------------------------- listing

    def _listing(self, style: str, query: dict) -> _Response:
        page, count = _int_param(query, "page"), _int_param(query, "count")
        since = query.get("fromDateUTC") or query.get("fromDate")
        ids, texts, updated, whole = self._cached(style)
        if since is not None:
            try:
                cutoff = float(since)
            except ValueError:
                raise _BadRequest("fromDate must be a unix timestamp in seconds") from None
            keep = [i for i, stamp in enumerate(updated) if stamp >= cutoff]
            texts = [texts[i] for i in keep]
        elif page is None and count is None:
            return _Response(200, whole)
        if page is not None or count is not None:
            count = self.default_page_size if count is None else count
            page = page or 0
            if count < 1 or page < 0:
                raise _BadRequest("page must be >= 0 and count >= 1")
            count = min(count, self.max_page_size)
            texts = texts[page * count:(page + 1) * count]
        return _Response(200, ("[" + ",".join(texts) + "]").encode())

    def _cached(self, style: str) -> tuple[list[int], list[str], list[float], bytes]:
        """Per-activity JSON (newest first) and update instants, rebuilt only when the athlete changed."""
        athlete = self.athlete
        key = f"{style}:{'instant' if self.list_by_utc_instant else 'local'}"
        with athlete._lock:
            if self._cache_version != athlete.version:
                self._cache = {}
                self._cache_version = athlete.version
            entry = self._cache.get(key)
            if entry is None:
                ids = athlete.sorted_ids(by_instant=self.list_by_utc_instant)
                dumps = json.JSONEncoder(separators=(",", ":")).encode
                if style == "ids":
                    texts = [str(i) for i in ids]
                elif style == "briefs":
                    texts = [dumps({k: athlete._payloads[i].get(k) for k in BRIEF_KEYS}) for i in ids]
                elif style == "extended":
                    texts = [dumps(athlete.extended(i)) for i in ids]
                else:
                    texts = [dumps(athlete.summary(i)) for i in ids]
                updated = [_updated_epoch(athlete._payloads[i]) for i in ids]
                entry = (ids, texts, updated, ("[" + ",".join(texts) + "]").encode())
                self._cache[key] = entry
            return entry

    # ------------------------------------------------------------------------------------ one activity

    def _activity(self, method: str, activity_id: int, sub: str, headers, body: bytes) -> _Response:
        athlete = self.athlete
        if sub in ("", "/"):
            if method == "GET":
                return _json(athlete.get(activity_id))
            if method == "DELETE":
                athlete.delete_activity(activity_id)
                return _json({})
            if method == "PATCH":
                changes = _json_body(headers, body)
                if not isinstance(changes, dict) or not changes:
                    raise _BadRequest("PATCH needs a JSON object of fields")
                extra = sorted(set(changes) - PATCHABLE_KEYS)
                if extra:
                    raise _BadRequest(f"only notes, duration, distance, startDateTimeLocal can be patched: {extra}")
                _check_patch(changes)
                return _json(athlete.edit_activity(activity_id, **changes))
            return _not_allowed(method)
        if method != "GET":
            return _not_allowed(method)
        full = athlete.get(activity_id)
        match = re.fullmatch(r"/polyline(?:/(svg|geojson))?/?", sub)
        if match:
            points = _track(full)
            if not points:
                return _message(404, "This activity has no GPS track.")
            if match.group(1) == "geojson":
                return _json({"type": "LineString", "coordinates": [[lon, lat] for lat, lon in points]})
            if match.group(1) == "svg":
                return _json({"polyline": _svg_path(points)})
            return _json({"polyline": encode_polyline(points)})
        match = re.fullmatch(r"/splits/([^/]+)/?", sub)
        if match:
            unit = match.group(1).lower()
            if unit not in ("km", "mi"):
                return _message(404, "Splits are available in km or mi.")
            return _json(_splits(full, 1.0 if unit == "km" else MILE_KM))
        if sub.rstrip("/") == "/notables":
            return _json(_notables(full, self._visible()))
        if sub.rstrip("/") == "/tags":
            tags = [tag for tag, flag in (("treadmill", full.get("isTreadmill")), ("race", full.get("isRace")),
                                          ("manual", full.get("source") == "manual")) if flag]
            return _json(tags)
        return _message(404, "No HTTP resource was found that matches the request URI.")

    def _write_activities(self, method: str, headers, body: bytes) -> _Response:
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _message(415, "The sandbox accepts JSON activity uploads only.")
        payload = _json_body(headers, body)
        items = payload if isinstance(payload, list) else [payload]
        try:
            if method == "PUT":
                ids = [self.athlete.replace_activity(item) for item in items]
            else:
                ids = [self.athlete.add_activity(item) for item in items]
        except (ValueError, TypeError) as error:
            raise _BadRequest(str(error)) from None
        except KeyError as error:
            return _message(404, str(error.args[0]))
        return _json({"activityIds": [str(i) for i in ids]})

    def _weight(self, method: str, latest: bool, headers, body: bytes) -> _Response:
        if method == "GET":
            with self._lock:
                return _json((self._weights[-1] if self._weights else None) if latest else list(self._weights))
        if method != "POST" or latest:
            return _not_allowed(method)
        if (headers.get("Content-Type") or "").split(";")[0].strip().lower() != "application/json":
            return _message(415, "The request entity's media type is not supported for this resource.")
        entry = _json_body(headers, body)
        if not isinstance(entry, dict) or not isinstance(entry.get("weightInKilograms"), (int, float)) \
                or not isinstance(entry.get("date"), str):
            raise _BadRequest("expected {weightInKilograms: number, date: ISO-8601}")
        with self._lock:
            self._weights.append({"weightInKilograms": entry["weightInKilograms"], "date": entry["date"]})
        return _json({})

    def _userinfo(self) -> dict:
        athlete = self.athlete
        visible = self._visible()
        first_created = min((p.get("dateCreatedUTC") or "" for p in visible), default="") or \
            format_utc(self.clock.now())
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


def _redact_path(path: str) -> str:
    """``/v1/auth/{token}`` carries a token in the path."""
    return re.sub(r"^(/v1/auth/)[^/]+", r"\1" + REDACTED, path)


def _not_allowed(method: str) -> _Response:
    return _message(405, f"The requested resource does not support http method '{method}'.")


def _flatten(params: dict[str, list[str]]) -> dict[str, str]:
    return {key: values[-1] for key, values in params.items()}


def _int_param(query: dict, name: str) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise _BadRequest(f"{name} must be an integer") from None


def _json_body(headers, body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _BadRequest("the request body is not valid JSON") from None


def _check_patch(changes: dict) -> None:
    for key in ("distance", "duration"):
        if key in changes and (isinstance(changes[key], bool) or not isinstance(changes[key], (int, float))
                               or changes[key] < 0):
            raise _BadRequest(f"{key} must be a number >= 0")
    if "notes" in changes and not isinstance(changes["notes"], str):
        raise _BadRequest("notes must be a string")
    if "startDateTimeLocal" in changes:
        try:
            if datetime.fromisoformat(str(changes["startDateTimeLocal"])).tzinfo is None:
                raise ValueError
        except ValueError:
            raise _BadRequest("startDateTimeLocal must be ISO-8601 with an offset") from None


def _updated_epoch(payload: dict) -> float:
    text = payload.get("dateUpdatedUTC") or payload.get("dateCreatedUTC")
    try:
        return parse_utc(text).timestamp() if text else 0.0
    except ValueError:
        return 0.0


def _redirect_allowed(uri: str) -> bool:
    if uri in OOB_REDIRECTS:
        return True
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost", "::1")


# ------------------------------------------------------------------------- derived read-only payloads


def _track(full: dict) -> list[tuple[float, float]]:
    keys = full.get("recordingKeys") or []
    if not full.get("hasDetailsGPS") or "latitude" not in keys or "longitude" not in keys:
        return []
    values = full["recordingValues"]
    lats, lons = values[keys.index("latitude")], values[keys.index("longitude")]
    return [(lat, lon) for lat, lon in zip(lats, lons) if lat != -1 and lon != -1]


def encode_polyline(points: list[tuple[float, float]]) -> str:
    """Google's encoded polyline algorithm (precision 1e-5)."""
    out, previous = [], (0, 0)
    for lat, lon in points:
        current = (round(lat * 1e5), round(lon * 1e5))
        for delta in (current[0] - previous[0], current[1] - previous[1]):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        previous = current
    return "".join(out)


def _svg_path(points: list[tuple[float, float]]) -> str:
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    span = max(max(lats) - min(lats), max(lons) - min(lons)) or 1e-9
    coords = [f"{(lon - min(lons)) / span * 100:.1f} {(max(lats) - lat) / span * 100:.1f}" for lat, lon in points]
    return "M" + " L".join(coords)


def _splits(full: dict, unit_km: float) -> list[dict]:
    """Cumulative splits per km or mile from the recording (moving time: pauses excluded)."""
    keys, values = full.get("recordingKeys") or [], full.get("recordingValues") or []
    if "distance" not in keys or "clock" not in keys:
        return []
    distance, clock = values[keys.index("distance")], values[keys.index("clock")]
    pauses = set(full.get("pauseIndexes") or [])
    moving = [0.0]
    for i in range(1, len(clock)):
        moving.append(moving[-1] + (0 if i in pauses else clock[i] - clock[i - 1]))
    heart = values[keys.index("heartRate")] if "heartRate" in keys else None
    elevation = values[keys.index("elevation")] if "elevation" in keys else None
    splits, start_i, start_s, gain, loss = [], 0, 0.0, 0.0, 0.0
    total = distance[-1]
    boundary = unit_km
    for i in range(1, len(distance)):
        if elevation is not None:
            step = elevation[i] - elevation[i - 1]
            gain, loss = gain + max(step, 0), loss + max(-step, 0)
        last = i == len(distance) - 1
        if distance[i] >= boundary or (last and distance[i] > (boundary - unit_km) + 1e-9):
            seconds = moving[i]
            split_km = distance[i] - distance[start_i]
            item = {"distance": round(min(distance[i], total) / unit_km, 2) if last and distance[i] < boundary
                    else round(boundary / unit_km, 2),
                    "seconds": round(seconds, 1),
                    "speed": round(split_km / ((seconds - start_s) / 3600), 2) if seconds > start_s else 0}
            if heart is not None:
                segment = heart[start_i:i + 1]
                item["heartRate"] = round(sum(segment) / len(segment))
            if elevation is not None:
                item.update(elevationGain=round(gain), elevationLoss=round(loss))
            splits.append(item)
            start_i, start_s = i, seconds
            boundary += unit_km
    return splits


def _notables(full: dict, visible: list[dict]) -> list[dict]:
    """Longest run in the last 30 days / ever, among the runs before this one."""
    start = full["startDateTimeLocal"]
    distance = float(full.get("distance") or 0)
    day = date.fromisoformat(start[:10])
    earlier = [p for p in visible if p["startDateTimeLocal"][:16] < start[:16]]
    notables = []
    if earlier and distance > max(float(p.get("distance") or 0) for p in earlier):
        notables.append({"type": "distance", "description": "Longest run ever"})
    elif earlier:
        recent = [float(p.get("distance") or 0) for p in earlier
                  if (day - date.fromisoformat(p["startDateTimeLocal"][:10])).days <= 30]
        if recent and distance > max(recent):
            notables.append({"type": "distance", "description": "Longest run in the last 30 days"})
    return notables


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _stats(visible: list[dict], year: int | None, month: int | None, today: date) -> dict:
    """The §6.2 aggregate object over a year, a month, or everything (local calendar dates)."""
    prefix = "" if year is None else f"{year:04d}" + ("" if month is None else f"-{month:02d}")
    runs = [p for p in visible if p["startDateTimeLocal"].startswith(prefix)]
    distances = [float(p.get("distance") or 0) for p in runs]
    total = sum(distances)
    moving = sum(float(p.get("duration") or 0) for p in runs)
    timed_km = sum(float(p.get("distance") or 0) for p in runs if float(p.get("duration") or 0) > 0)
    days = sorted({date.fromisoformat(p["startDateTimeLocal"][:10]) for p in runs})
    if year is None:
        first, last = (days[0] if days else today), today
    elif month is None:
        first, last = date(year, 1, 1), min(date(year, 12, 31), today)
    else:
        following = date(year + month // 12, month % 12 + 1, 1)
        first, last = date(year, month, 1), min(following - timedelta(days=1), today)
    period_days = max(0, (last - first).days + 1)
    streak = best = 0
    best_start = streak_start = None
    gap, gap_date = 0, None
    for i, day in enumerate(days):
        if i and (day - days[i - 1]).days == 1:
            streak += 1
        else:
            streak, streak_start = 1, day
            if i and (day - days[i - 1]).days - 1 > gap:
                gap, gap_date = (day - days[i - 1]).days - 1, days[i - 1] + timedelta(days=1)
        if streak > best:
            best, best_start = streak, streak_start
    by_weekday: dict[int, list[float]] = {d: [] for d in range(7)}
    am, pm = set(), set()
    for p, km in zip(runs, distances):
        day = date.fromisoformat(p["startDateTimeLocal"][:10])
        by_weekday[day.weekday()].append(km)
        (am if int(p["startDateTimeLocal"][11:13]) < 12 else pm).add(day)
    most = max(range(7), key=lambda d: (len(by_weekday[d]), -d))
    least = min(range(7), key=lambda d: (len(by_weekday[d]), d))
    longest = max(runs, key=lambda p: float(p.get("distance") or 0), default=None)
    pace = moving / timed_km if timed_km else None

    def weekday_average(d: int) -> float | None:
        return round(sum(by_weekday[d]) / len(by_weekday[d]), 2) if by_weekday[d] else None

    return {
        "runCount": len(runs),
        "totalDistance": round(total, 2),
        "averageSpeed": round(timed_km / (moving / 3600), 2) if moving else None,
        "averagePace": f"{int(pace // 60)}:{int(pace % 60):02d}" if pace else None,
        "longestRun": round(float(longest.get("distance") or 0), 2) if longest else None,
        "longestRunWhen": longest["startDateTimeLocal"] if longest else None,
        "longestBreakBetweenRuns": gap,
        "longestBreakBetweenRunsDate": gap_date.isoformat() if gap_date else None,
        "longestStreak": best,
        "longestStreakDate": best_start.isoformat() if best_start else None,
        "averageDistancePerDay": round(total / period_days, 2) if runs and period_days else None,
        "averageRunLength": round(total / len(runs), 2) if runs else None,
        "averageDaysRunPerWeek": round(len(days) / (period_days / 7), 2) if period_days else None,
        "mostOftenRunOnDay": _WEEKDAYS[most] if runs else None,
        "mostOftenRunOnCount": len(by_weekday[most]),
        "mostOftenRunOnAverageDistance": weekday_average(most),
        "leastOftenRunOnDay": _WEEKDAYS[least] if runs else None,
        "leastOftenRunOnCount": len(by_weekday[least]),
        "leastOftenRunOnAverageDistance": weekday_average(least),
        "daysRunAM": len(am),
        "daysRunPM": len(pm),
        "daysRunBoth": len(am & pm),
    }


_BADGES = (  # (id, name, requirement, test over (run count, total km, longest single km, longest streak))
    (1, "First Steps", "Record your first run", lambda n, km, longest, streak: n >= 1),
    (2, "Tenner", "Record 10 runs", lambda n, km, longest, streak: n >= 10),
    (3, "Centurion", "Record 100 runs", lambda n, km, longest, streak: n >= 100),
    (4, "Thousandaire", "Record 1,000 runs", lambda n, km, longest, streak: n >= 1000),
    (5, "Marathoner", "Run a marathon (42.195 km) in one run", lambda n, km, longest, streak: longest >= 42.195),
    (6, "Month of Sundays", "Run 30 days in a row", lambda n, km, longest, streak: streak >= 30),
    (7, "Every Day", "Run 365 days in a row", lambda n, km, longest, streak: streak >= 365),
    (8, "Around the World", "Run 40,075 km in total", lambda n, km, longest, streak: km >= 40075),
)


def _badges(visible: list[dict]) -> list[dict]:
    """Badges in the order earned, each dated by the run that earned it (oldest run first)."""
    earned: dict[int, dict] = {}
    n, km, longest, streak, previous_day = 0, 0.0, 0.0, 0, None
    for payload in reversed(visible):
        n += 1
        distance = float(payload.get("distance") or 0)
        km, longest = km + distance, max(longest, distance)
        day = date.fromisoformat(payload["startDateTimeLocal"][:10])
        if previous_day is None or (day - previous_day).days > 1:
            streak = 1
        elif (day - previous_day).days == 1:
            streak += 1
        previous_day = day
        for badge_id, name, requirement, test in _BADGES:
            if badge_id not in earned and test(n, km, longest, streak):
                earned[badge_id] = {
                    "id": badge_id, "name": name, "image": f"https://sandbox.invalid/badges/{badge_id}.png",
                    "imageSmall": f"https://sandbox.invalid/badges/{badge_id}-small.png",
                    "requirement": requirement,
                    "dateEarnedUTC": payload.get("dateCreatedUTC") or format_utc(datetime.fromisoformat(
                        payload["startDateTimeLocal"])),
                    "badgeOrder": badge_id,
                }
    return list(earned.values())


YEAR_GOAL_KM, MONTH_GOAL_KM = 2000.0, 170.0


def _goal(visible: list[dict], year: int, month: int | None) -> dict | None:
    """A goal exists for each year/month with runs; JSON null otherwise (as for a runner who set none)."""
    prefix = f"{year:04d}" + ("" if month is None else f"-{month:02d}")
    runs = [p for p in visible if p["startDateTimeLocal"].startswith(prefix)]
    if not runs:
        return None
    goal = YEAR_GOAL_KM if month is None else MONTH_GOAL_KM
    return {"goalText": f"Run {goal:g} km", "goalKilometers": goal,
            "kilometers": round(sum(float(p.get("distance") or 0) for p in runs), 2)}


# ---------------------------------------------------------------------------------------- HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, sandbox: SandboxServer):
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self) -> None:
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


_GARBAGE = (b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
            b"<p>The proxy server received an invalid response.</p></body></html>")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a paging client reuses one connection
    server_version = "SmashRunSandbox/1.0"
    timeout = 30  # idle keep-alive connections are closed

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_DELETE(self):
        self._serve("DELETE")

    def log_message(self, format, *args):  # the default prints the raw request line (tokens) to stderr
        pass

    def _serve(self, method: str) -> None:
        sandbox: SandboxServer = self.server.sandbox
        url = urlsplit(self.path)
        path = url.path or "/"
        query = _flatten(parse_qs(url.query, keep_blank_values=True))
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return
        body = self.rfile.read(length) if length > 0 else b""
        fault = sandbox._take_fault(path)
        response: _Response | None = None
        if fault is not None:
            if fault.kind == "drop":
                sandbox._record(method, path, query, 0)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind == "garbage":
                response = _Response(200, _GARBAGE, "text/html")
            else:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                response = _message(fault.status, "An error has occurred.", headers)
        if response is None:
            try:
                response = sandbox.handle(method, path, query, self.headers, body)
            except Exception:  # a sandbox bug must still answer, like a real 500
                log.exception("sandbox error on %s %s", method, _redact_path(path))
                response = _message(500, "An error has occurred.")
        sandbox._record(method, path, query, response.status)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)
