"""``myrunstreak auth``: the OAuth2 authorization-code flow with a one-shot loopback redirect listener.

The browser is sent to SmashRun's authorize page; SmashRun redirects it to ``http://127.0.0.1:<port>/callback``
served here for that single request; the code is exchanged for a token, which goes to the ``TokenFile``.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from oauthlib.oauth2 import OAuth2Error

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.smashrun.oauth import (
    REAUTH_HINT,
    TOKEN_PATH,
    RedactingOAuth2Session,
    Token,
    TokenFile,
    quiet_secret_logging,
    require_secure_transport,
    with_expiry,
)

SCOPE = ["read_activity"]  # least privilege: the pipeline only reads
AUTHORIZE_PATH = "/oauth2/authenticate"


class _CallbackServer(http.server.HTTPServer):
    result: dict[str, str] | None = None


class _CallbackHandler(http.server.BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path != "/callback":
            self.send_error(404)
            return
        params = dict(urllib.parse.parse_qsl(parsed.query))
        self.server.result = params
        ok = "code" in params and "error" not in params
        body = (
            b"<html><head><title>myrunstreak</title></head><body>"
            + (b"Authorized. You can close this tab." if ok else b"Authorization failed; see the terminal.")
            + b"</body></html>"
        )
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the default logs the request line, which contains the authorization code


def authorize(
    client_id: str,
    client_secret: str,
    auth_base: str,
    store: TokenFile,
    open_url: Callable[[str], Any] | None = None,
    timeout: float = 300.0,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Token:
    """Run the authorization-code flow with a one-shot loopback redirect listener and store the token.

    ``open_url(url)`` is called with the authorize URL (a browser opener in the CLI; tests follow it with
    plain HTTP). Waits at most ``timeout`` seconds for the redirect.
    """
    quiet_secret_logging()
    auth_base = auth_base.rstrip("/")
    require_secure_transport(auth_base)
    store.check_location()  # before a code is spent: a token that cannot be saved would be lost
    try:
        server = _CallbackServer((host, port), _CallbackHandler)
    except OSError as error:
        raise MyRunStreakError(
            f"--port {port}: cannot listen on {host}:{port} for the OAuth redirect ({error.strerror or error})",
            hint="pick another --port (0 = any free port)",
        ) from None
    server.timeout = 0.2
    redirect_uri = f"http://{host}:{server.server_address[1]}/callback"
    session = RedactingOAuth2Session(client_id, redirect_uri=redirect_uri, scope=SCOPE)
    url, state = session.authorization_url(auth_base + AUTHORIZE_PATH)

    stop = threading.Event()

    def serve() -> None:
        deadline = time.monotonic() + timeout
        while server.result is None and not stop.is_set() and time.monotonic() < deadline:
            server.handle_request()

    thread = threading.Thread(target=serve, name="oauth-callback", daemon=True)
    thread.start()
    try:
        if open_url is not None:
            open_url(url)
        thread.join(timeout + 1.0)
    finally:
        stop.set()
        thread.join(2.0)
        server.server_close()

    params = server.result
    if params is None:
        raise MyRunStreakError(
            f"no authorization arrived within {timeout:.0f} s", hint="open the printed URL in a browser and approve"
        )
    if "error" in params:
        raise MyRunStreakError(f"SmashRun denied the authorization ({params['error']})")
    if params.get("state") != state:
        raise MyRunStreakError("the authorization redirect carried the wrong state; try again")
    if not params.get("code"):
        raise MyRunStreakError("the authorization redirect carried no code; try again")
    try:
        token = session.fetch_token(
            auth_base + TOKEN_PATH,
            code=params["code"],
            client_secret=client_secret,
            include_client_id=True,  # SmashRun takes the client credentials in the form body
            timeout=(10, 60),
        )
    except OAuth2Error as error:
        raise MyRunStreakError(f"SmashRun refused the authorization code ({error.error})", hint=REAUTH_HINT) from None
    token = with_expiry(token, time.time())
    try:
        store.save(token)
    except OSError as error:
        raise MyRunStreakError(
            f"authorized, but the token could not be saved to {store.path} ({error.strerror or error})",
            hint="fix SMASHRUN_TOKEN_FILE's location and run `myrunstreak auth` again",
        ) from None
    return token
