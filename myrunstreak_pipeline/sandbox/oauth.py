"""The sandbox's OAuth host: what the production flow uses (smashrun/oauth.py, docs/smashrun-api.md §2, §10).

``GET|POST /oauth2/authenticate`` with ``response_type=code`` approves at once and redirects to a loopback
``redirect_uri`` with a single-use code; ``POST /oauth2/token`` (form-encoded, client credentials in the form)
exchanges it (``authorization_code``) or a refresh token (``refresh_token``, rotated by default) for tokens
that expire on the sandbox clock.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from myrunstreak_pipeline.sandbox.athlete import SandboxClock
from myrunstreak_pipeline.sandbox.responses import Response, flatten, json_response, oauth_error

TWELVE_WEEKS = 12 * 7 * 24 * 3600  # 7,257,600 s: access and refresh tokens
CODE_TTL = 600
KNOWN_SCOPES = frozenset({"read_activity", "write_activity"})
NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class _Grant:
    """What a token or code stands for. ``client_id`` None = not bound to a client (sandbox-issued)."""

    client_id: str | None
    expires_at: float
    redirect_uri: str | None = None


class OAuthEndpoints:
    """Part of ``SandboxServer``: registered apps, codes and tokens, and the two OAuth endpoints."""

    clock: SandboxClock
    _lock: threading.RLock  # the server's

    def _init_oauth(self, token: str | None) -> None:
        # Tunables (docs/smashrun-api.md §10): public so tests can change them.
        self.access_token_ttl = TWELVE_WEEKS
        self.refresh_token_ttl = TWELVE_WEEKS
        self.rotate_refresh_tokens = True
        self._clients: dict[str, str] = {}
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        if token:
            self._access[token] = _Grant(None, self.clock.timestamp() + self.access_token_ttl)

    # --------------------------------------------------------------------------- test-facing helpers

    def register_client(self, client_id: str, client_secret: str) -> None:
        """Register an OAuth app; any loopback redirect URI is accepted for it."""
        with self._lock:
            self._clients[client_id] = client_secret

    def issue_token(self, expires_in: int | None = None, refresh: bool = True, client_id: str | None = None) -> dict:
        """A token response as ``/oauth2/token`` would return it (refresh token usable by any registered app
        unless ``client_id`` is given)."""
        with self._lock:
            return self._issue(client_id, refresh, expires_in)

    # ------------------------------------------------------------------------------------- internals

    def _access_granted(self, token: str) -> bool:
        with self._lock:
            grant = self._access.get(token)
            return grant is not None and grant.expires_at > self.clock.timestamp()

    def _issue(
        self, client_id: str | None, refresh: bool, expires_in: int | None = None, state: str | None = None
    ) -> dict:
        now = self.clock.timestamp()
        ttl = self.access_token_ttl if expires_in is None else int(expires_in)
        access = secrets.token_urlsafe(30)
        self._access[access] = _Grant(client_id, now + ttl)
        response = {"access_token": access, "token_type": "Bearer", "expires_in": ttl}
        if refresh:
            refresh_token = secrets.token_urlsafe(30)
            self._refresh[refresh_token] = _Grant(client_id, now + self.refresh_token_ttl)
            response["refresh_token"] = refresh_token
        if state:
            response["state"] = state
        return response

    # ------------------------------------------------------------------------------------- endpoints

    def _authenticate(self, query: dict) -> Response:
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        if not _is_loopback(redirect_uri):  # never redirect to an unvetted address
            return Response(
                400,
                b"<html><title>invalid_request</title><body>redirect_uri must be a loopback address</body></html>",
                "text/html; charset=utf-8",
            )

        def redirect(params: dict) -> Response:
            if query.get("state"):
                params["state"] = query["state"]
            separator = "&" if "?" in redirect_uri else "?"
            return Response(302, b"", "text/plain", {"Location": redirect_uri + separator + urlencode(params)})

        if query.get("response_type", "") != "code":
            return redirect({"error": "unsupported_response_type", "error_description": "response_type must be 'code'"})
        with self._lock:
            known = client_id in self._clients
        if not known:
            return redirect({"error": "invalid_client", "error_description": "Unknown client_id for this flow"})
        scope = frozenset((query.get("scope") or "read_activity").replace(",", " ").split())
        if not scope <= KNOWN_SCOPES:
            return redirect(
                {"error": "invalid_scope", "error_description": "Known scopes: read_activity write_activity"}
            )
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Grant(client_id, self.clock.timestamp() + CODE_TTL, redirect_uri)
        return redirect({"code": code})

    def _token(self, headers, body: bytes) -> Response:
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return oauth_error(400, "invalid_request", "The token request must be form-encoded")
        form = flatten(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        with self._lock:
            expected = self._clients.get(client_id)
            if expected is None or not secrets.compare_digest(expected.encode(), client_secret.encode()):
                return oauth_error(401, "invalid_client", "Could not authenticate with client_id and client_secret")
            grant_type = form.get("grant_type", "")
            now = self.clock.timestamp()
            if grant_type == "authorization_code":
                grant = self._codes.pop(form.get("code", ""), None)  # single use, even when it fails
                if grant is None or grant.expires_at <= now or grant.client_id != client_id:
                    return oauth_error(400, "invalid_grant", "The authorization code is invalid, expired or used")
                if form.get("redirect_uri") and form["redirect_uri"] != grant.redirect_uri:
                    return oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization")
                return json_response(self._issue(client_id, True, state=form.get("state")), 200, NO_STORE)
            if grant_type == "refresh_token":
                value = form.get("refresh_token") or form.get("code") or ""  # TTWatcher sends it as `code`
                grant = self._refresh.get(value)
                if grant is None or grant.expires_at <= now or grant.client_id not in (None, client_id):
                    return oauth_error(400, "invalid_grant", "The refresh token is invalid, expired or revoked")
                if self.rotate_refresh_tokens:
                    del self._refresh[value]
                return json_response(self._issue(client_id, True, state=form.get("state")), 200, NO_STORE)
            if not grant_type:
                return oauth_error(400, "invalid_request", "grant_type is required")
            return oauth_error(400, "unsupported_grant_type", "Supported: authorization_code, refresh_token")


def _is_loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost", "::1")
