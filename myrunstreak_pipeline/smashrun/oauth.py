"""SmashRun OAuth2: the token file and the two kinds of credentials (the code flow is in ``code_flow``).

Two credential kinds:

* ``UserToken`` - a user-level token from ``SMASHRUN_ACCESS_TOKEN``. It cannot be refreshed; a 401 means
  the user must fetch a new one.
* ``AppToken`` - an app's token (``SMASHRUN_CLIENT_ID`` + ``SMASHRUN_CLIENT_SECRET``) kept in
  ``SMASHRUN_TOKEN_FILE``. It is refreshed proactively at half-life (SmashRun's refresh token expires too,
  so waiting for the access token to expire is too late), once on a server 401, and every rotated token is
  persisted atomically.

Secrets never reach logs, exception messages or reprs: the token dict type redacts its repr, and the
requests-oauthlib / oauthlib / urllib3 loggers (which print whole token dicts at DEBUG) are pinned to
WARNING by ``quiet_secret_logging``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from myrunstreak_pipeline.errors import MyRunStreakError

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/token"
USER_LEVEL_CLIENT_ID = "client"  # SmashRun's client id for user-level (explorer) tokens
# Refresh when less than this share of the token's lifetime remains (half-life), or less than this many
# seconds remain when the lifetime is unknown (6 weeks of SmashRun's 12-week tokens).
REFRESH_AT_REMAINING_FRACTION = 0.5
REFRESH_AT_REMAINING_SECONDS = 6 * 7 * 24 * 3600
REAUTH_HINT = "run `myrunstreak auth` to authorize again (it rewrites SMASHRUN_TOKEN_FILE)"
LOCK_WAIT_SECONDS = 120.0  # a refresh takes at most ~70 s (its timeouts); a holder longer than this is stuck
RACE_GRACE_SECONDS = 1.0  # after a refused refresh, how long to watch the file for a concurrent refresher's token

_SECRET_LOGGERS = ("requests_oauthlib", "oauthlib", "urllib3", "http.client")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def quiet_secret_logging() -> None:
    """Pin the loggers that print tokens/bodies at DEBUG to WARNING, so a DEBUG root logger cannot leak them."""
    for name in _SECRET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET (0) too: it would inherit a DEBUG root
            logger.setLevel(logging.WARNING)


def is_loopback_url(url: str) -> bool:
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_secure_transport(*urls: str) -> None:
    """Refuse plain HTTP except to a loopback host (the sandbox), where nothing leaves the machine."""
    insecure = [u for u in urls if not u.lower().startswith("https://")]
    for url in insecure:
        if not is_loopback_url(url):
            host = urllib.parse.urlsplit(url).hostname
            raise MyRunStreakError(
                f"refusing to send SmashRun credentials over plain HTTP to {host!r}",
                hint="use an https:// SMASHRUN_API_BASE / SMASHRUN_AUTH_BASE (plain http is allowed only for "
                "127.0.0.1 / localhost, e.g. the sandbox)",
            )
    if insecure:
        # oauthlib refuses every http:// URL and takes its opt-out only from the environment (no parameter), so
        # this writes it - and only once every URL above has been checked to be HTTPS or loopback.
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


class Token(dict):
    """A token dict (what requests-oauthlib expects) whose repr/str never show the secrets."""

    _SECRET_KEYS = ("access_token", "refresh_token", "id_token")

    def __repr__(self) -> str:
        shown = {k: ("<redacted>" if k in self._SECRET_KEYS else v) for k, v in self.items()}
        return f"Token({shown})"

    __str__ = __repr__


class RedactingOAuth2Session(OAuth2Session):
    """``OAuth2Session`` whose repr names the client only (the default would not, but keep it explicit)."""

    def __repr__(self) -> str:
        return f"<RedactingOAuth2Session client_id={self.client_id!r} token=<redacted>>"


def with_expiry(token: dict[str, Any], now: float) -> Token:
    """Copy ``token`` adding the absolute ``expires_at`` (and ``obtained_at``) it needs to survive a reload.

    oauthlib decides expiry from ``expires_at``; a stored token with only ``expires_in`` would look fresh
    after every reload.
    """
    out = Token(token)
    if out.get("expires_at") is None and out.get("expires_in") is not None:
        out["expires_at"] = now + float(out["expires_in"])
    out.setdefault("obtained_at", now)
    return out


class TokenFile:
    """The app token on disk: JSON, mode 0600, replaced atomically (temp file + fsync + os.replace)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"TokenFile({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.is_file()

    @property
    def lock_path(self) -> Path:
        """The sidecar file whose ``flock`` serializes refreshers of this token (processes and threads)."""
        return self.path.with_name(self.path.name + ".lock")

    def check_location(self, source: str = "SMASHRUN_TOKEN_FILE") -> None:
        """The token can be saved here (checked before an authorization code is spent): not a folder, and the
        nearest existing parent is a folder this process may write. Nothing is created."""
        hint = f"point {source} at a file path such as ~/.config/myrunstreak/smashrun_token.json"
        if self.path.is_dir():
            raise MyRunStreakError(f"{source} is a folder, not a file: {self.path}", hint=hint)
        if self.path.exists() and not self.path.is_file():
            raise MyRunStreakError(f"{source} is not a regular file: {self.path}", hint=hint)
        parent = next((p for p in [self.path.parent, *self.path.parent.parents] if p.exists()), None)
        if parent is None or not parent.is_dir():
            raise MyRunStreakError(f"{source}: cannot create {self.path}: {parent} is not a folder", hint=hint)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise MyRunStreakError(f"{source}: cannot write {self.path}: no write permission in {parent}", hint=hint)

    def load(self) -> Token:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise MyRunStreakError(f"no SmashRun token file at {self.path}", hint=REAUTH_HINT) from None
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise MyRunStreakError(
                f"cannot read the SmashRun token file {self.path} (SMASHRUN_TOKEN_FILE): {reason}",
                hint=f"point SMASHRUN_TOKEN_FILE at the token file, or {REAUTH_HINT}",
            ) from None
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            # Never echo the content: it is (or was meant to be) a secret.
            raise MyRunStreakError(f"the SmashRun token file {self.path} is not a valid token", hint=REAUTH_HINT)
        return Token(data)

    def save(self, token: dict[str, Any]) -> None:
        token = with_expiry(token, time.time())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file with mode 0600 from the start: the secret is never world-readable.
        fd, tmp_name = tempfile.mkstemp(prefix=".token-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(dict(token), handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o600)
            os.replace(tmp_name, self.path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not supported everywhere (e.g. some network filesystems).
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class UserToken:
    """A user-level token (SMASHRUN_ACCESS_TOKEN): sent as a Bearer header, never refreshable."""

    can_refresh = False
    client_id = USER_LEVEL_CLIENT_ID

    def __init__(self, access_token: str):
        if not access_token:
            raise MyRunStreakError("SMASHRUN_ACCESS_TOKEN is empty")
        self._token = Token(access_token=access_token, token_type="Bearer")

    def __repr__(self) -> str:
        return "UserToken(<redacted>)"

    def token(self) -> Token:
        return self._token

    def needs_refresh(self, now: float | None = None) -> bool:
        return False

    def refresh(self, session: OAuth2Session) -> Token:
        raise MyRunStreakError(
            "SmashRun rejected the access token (HTTP 401)",
            hint="SMASHRUN_ACCESS_TOKEN is a user-level token and cannot be refreshed: get a new one from the "
            "SmashRun API explorer, or set SMASHRUN_CLIENT_ID + SMASHRUN_CLIENT_SECRET and run `myrunstreak auth`",
        )

    def session_kwargs(self) -> dict[str, Any]:
        return {}


class AppToken:
    """An app token kept in a ``TokenFile``; refreshes proactively and persists every rotation."""

    can_refresh = True

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        store: TokenFile,
        auth_base: str,
        clock: Callable[[], float] = time.time,
    ):
        if not client_id or not client_secret:
            raise MyRunStreakError("SMASHRUN_CLIENT_ID and SMASHRUN_CLIENT_SECRET must both be set")
        self.client_id = client_id
        self._client_secret = client_secret
        self.store = store
        self.token_url = auth_base.rstrip("/") + TOKEN_PATH
        self._clock = clock
        self._lock = threading.Lock()  # one refresher per process
        self._token = store.load()

    def __repr__(self) -> str:
        return f"AppToken(client_id={self.client_id!r}, store={self.store!r}, secret=<redacted>)"

    def token(self) -> Token:
        return self._token

    def session_kwargs(self) -> dict[str, Any]:
        # requests-oauthlib's own expiry refresh (TokenExpiredError) uses these; SmashRun wants the client
        # credentials in the form body, and token_updater persists what it gets.
        return {
            "auto_refresh_url": self.token_url,
            "auto_refresh_kwargs": {"client_id": self.client_id, "client_secret": self._client_secret},
            "token_updater": self._persist,
        }

    def needs_refresh(self, now: float | None = None) -> bool:
        """True once less than half the token's lifetime remains (``now`` defaults to this source's clock)."""
        now = self._clock() if now is None else now
        expires_at = self._token.get("expires_at")
        if expires_at is None:
            return False  # unknown lifetime: rely on the 401 path
        remaining = float(expires_at) - now
        obtained_at = self._token.get("obtained_at")
        if obtained_at is not None and float(expires_at) > float(obtained_at):
            lifetime = float(expires_at) - float(obtained_at)
            return remaining < lifetime * REFRESH_AT_REMAINING_FRACTION
        return remaining < REFRESH_AT_REMAINING_SECONDS

    def refresh(self, session: OAuth2Session) -> Token:
        """Exchange the refresh token now, persist the (rotated) result and install it on ``session``.

        Several processes may share the token file (a scheduled run, a manual one). SmashRun rotates refresh
        tokens, so the second to send the same refresh token would get ``invalid_grant`` and think the
        authorization is gone. Hence, under a ``flock`` on the sidecar lock file: re-read the file first and
        use a newer token found there instead of refreshing; and should the refresh still be refused (a
        refresher that ignored the lock, e.g. on another host), re-read again and use a newer token when one
        has appeared. Only when the file still holds the refused refresh token must the runner re-authorize.
        """
        with self._lock, _FileLock(self.store.lock_path):
            held = (session.token or {}).get("access_token")
            if self._adopt_stored(session, "access_token", held) and not self.needs_refresh():
                log.info("using the SmashRun token another refresher stored")
                return self._token
            refresh_token = self._token.get("refresh_token")
            if not refresh_token:
                raise MyRunStreakError("the stored SmashRun token has no refresh token", hint=REAUTH_HINT)
            try:
                new = session.refresh_token(self.token_url, refresh_token=refresh_token, timeout=(10, 60))
            except OAuth2Error as error:
                deadline = time.monotonic() + RACE_GRACE_SECONDS  # the winner's token may be on its way to disk
                while not self._adopt_stored(session, "refresh_token", refresh_token):
                    if time.monotonic() >= deadline:
                        # error.description comes from the server; only the standard error code is shown.
                        raise MyRunStreakError(
                            f"SmashRun refused to refresh the access token ({error.error})", hint=REAUTH_HINT
                        ) from None
                    time.sleep(0.1)
                log.info("lost a token refresh race; using the token the winner stored")
                return self._token
            token = self._persist(new)
            session.token = token
            log.info("refreshed the SmashRun access token (expires at %s)", token.get("expires_at"))
            return token

    def _adopt_stored(self, session: OAuth2Session, key: str, value: str | None) -> bool:
        """Install the token file's token when its ``key`` differs from ``value``: someone else stored it."""
        try:
            stored = self.store.load()
        except MyRunStreakError:
            return False  # unreadable now: keep ours; the refresh path reports real problems
        if stored.get(key) in (None, value):
            return False
        self._token = session.token = stored
        return True

    def _persist(self, token: dict[str, Any]) -> Token:
        now = self._clock()
        token = Token(token)
        if token.get("expires_in") is not None:  # measure the lifetime on our clock, not oauthlib's
            token["expires_at"] = now + float(token["expires_in"])
        token["obtained_at"] = now
        token = with_expiry(token, now)
        self.store.save(token)
        self._token = token
        return token


class _FileLock:
    """An exclusive ``flock`` on ``path`` (created 0600), waited for at most LOCK_WAIT_SECONDS. Where locks are
    unavailable (no fcntl, a read-only folder, no flock) it does nothing: the re-read still covers the race."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> _FileLock:
        try:
            import fcntl
        except ImportError:  # not POSIX
            return self
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return self
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    log.warning(
                        "the token lock %s is still held after %.0f s; refreshing anyway", self.path, LOCK_WAIT_SECONDS
                    )
                    break
                time.sleep(0.05)
            except OSError:
                break
        os.close(fd)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
