"""The sandbox server: OAuth host and API host on one loopback port, over real HTTP.

``http.server.ThreadingHTTPServer`` with keep-alive, a controllable clock (token expiry, rolling-hour rate
limit, ``dateUpdatedUTC`` bumps), injectable faults (status codes, garbage bodies, delays, dropped
connections) and a request log with secrets redacted. The endpoints live in oauth.py and api.py.
"""

from __future__ import annotations

import logging
import math
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from myrunstreak_pipeline.sandbox.api import ApiEndpoints
from myrunstreak_pipeline.sandbox.athlete import Athlete, SandboxClock
from myrunstreak_pipeline.sandbox.history import HOME_ZONE
from myrunstreak_pipeline.sandbox.oauth import OAuthEndpoints
from myrunstreak_pipeline.sandbox.responses import NOT_FOUND, BadRequest, Response, flatten, json_response, message

log = logging.getLogger(__name__)

DENIED = {"Message": "Authorization has been denied for this request."}
SECRET_PARAMS = frozenset({"access_token", "refresh_token", "code", "client_secret", "token"})
REDACTED = "<redacted>"


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


class SandboxServer(OAuthEndpoints, ApiEndpoints):
    """The sandbox: athlete state + OAuth + API + faults, served over HTTP on ``host:port`` (0 = any free)."""

    def __init__(
        self,
        activities: list[dict] | None = None,
        years: int = 3,
        seed: int = 7,
        token: str | None = "test-token",
        rate_limit: int | None = 250,
        host: str = "127.0.0.1",
        port: int = 0,
        today: date | None = None,
    ):
        if today is not None:  # a pinned history: evening of that day at home, so the day's runs are done
            clock = SandboxClock(datetime.combine(today, clock_time(21), tzinfo=ZoneInfo(HOME_ZONE)))
        else:
            clock = SandboxClock()
        self.clock = clock
        if activities is not None:
            self.athlete = Athlete.from_payloads(activities, clock)
        else:
            self.athlete = Athlete.synthetic(years, seed, clock, today)
        self.host, self.port = host, port
        self.rate_limit = rate_limit  # requests per token per rolling hour; 0/None = off
        self.requests: list[RequestRecord] = []
        self._lock = threading.RLock()
        self._hits: dict[str, deque] = {}
        self._faults: list[_Fault] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._init_oauth(token)
        self._init_api()

    # ------------------------------------------------------------------------------------- lifecycle

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.port), _Handler, self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"smashrun-sandbox-{self.port}",
            daemon=True,
        )
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

    def __enter__(self) -> SandboxServer:
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

    # ------------------------------------------------------------------------ faults and request log

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def inject(
        self, status: int = 503, count: int | None = 1, path_prefix: str = "/v1", retry_after: int | None = None
    ) -> None:
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
        with self._lock:
            self.requests.append(RequestRecord(method, path, safe_query, status))
        log.debug("%s %s %s -> %s", method, path, safe_query, status)

    # ------------------------------------------------------------------------------------- dispatch

    def handle(self, method: str, path: str, query: dict, headers, body: bytes) -> Response:
        if path.startswith("/oauth2/"):
            route = path.rstrip("/")
            if route == "/oauth2/authenticate" and method in ("GET", "POST"):
                return self._authenticate(query)
            if route == "/oauth2/token" and method == "POST":
                return self._token(headers, body)
            return json_response({"error": "not_found"}, 404)
        if not path.startswith("/v1/"):
            return message(404, NOT_FOUND)
        token = self._bearer(headers, query)
        with self._lock:
            if not token or not self._access_granted(token):
                return json_response(DENIED, 401, {"WWW-Authenticate": 'Bearer realm="smashrun"'})
            limited = self._rate_limited(token)
        if limited is not None:
            return limited
        parts = path.split("/", 3)  # "", "v1", "my", rest
        if len(parts) < 3 or parts[2].lower() != "my":
            return message(404, NOT_FOUND)
        rest = "/" + (parts[3] if len(parts) > 3 else "")
        try:
            return self._api(method, rest.rstrip("/") or "/", query)
        except BadRequest as error:
            return message(400, str(error))

    @staticmethod
    def _bearer(headers, query: dict) -> str | None:
        authorization = headers.get("Authorization") or ""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return query.get("access_token") or None

    def _rate_limited(self, token: str) -> Response | None:
        """Rolling hour on the sandbox clock, per token; refused requests do not count."""
        if not self.rate_limit:
            return None
        now = self.clock.timestamp()
        hits = self._hits.setdefault(token, deque())
        while hits and hits[0] <= now - 3600:
            hits.popleft()
        if len(hits) >= self.rate_limit:
            retry_after = max(1, math.ceil(hits[0] + 3600 - now))
            return message(429, "Rate limit exceeded", {"Retry-After": str(retry_after)})
        hits.append(now)
        return None


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


_GARBAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
    b"<p>The proxy server received an invalid response.</p></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a paging client reuses one connection
    server_version = "SmashRunSandbox/1.0"
    timeout = 30  # idle keep-alive connections are closed

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def log_message(self, format, *args):  # the default prints the raw request line (tokens) to stderr
        pass

    def _serve(self, method: str) -> None:
        sandbox: SandboxServer = self.server.sandbox
        url = urlsplit(self.path)
        path = url.path or "/"
        query = flatten(parse_qs(url.query, keep_blank_values=True))
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return
        body = self.rfile.read(length) if length > 0 else b""
        fault = sandbox._take_fault(path)
        response: Response | None = None
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
                response = Response(200, _GARBAGE, "text/html")
            else:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                response = message(fault.status, "An error has occurred.", headers)
        if response is None:
            try:
                response = sandbox.handle(method, path, query, self.headers, body)
            except Exception:  # a sandbox bug must still answer, like a real 500
                log.exception("sandbox error on %s %s", method, path)
                response = message(500, "An error has occurred.")
        sandbox._record(method, path, query, response.status)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if response.body:
            self.wfile.write(response.body)
