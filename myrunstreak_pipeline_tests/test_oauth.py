"""OAuth over real HTTP against the sandbox: code flow, token file, refresh rotation, 401s, secret hygiene."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline.smashrun.client import SmashRunClient
from myrunstreak_pipeline.smashrun.code_flow import authorize
from myrunstreak_pipeline.smashrun.errors import SmashRunAuthError
from myrunstreak_pipeline.smashrun.oauth import AppToken, Token, TokenFile, UserToken
from myrunstreak_pipeline.smashrun.retry import RetryPolicy

CLIENT_ID, CLIENT_SECRET = "myrunstreak-test-app", "client-secret-that-must-not-leak"
FAST = RetryPolicy(backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0, timeout=(2.0, 5.0))
WEEK = 7 * 24 * 3600


class Browser:
    """Follows the authorize URL like a browser would (the sandbox approves at once) and keeps the code."""

    def __init__(self) -> None:
        self.codes: list[str] = []

    def __call__(self, url: str) -> None:
        response = requests.get(url, timeout=10)
        for hop in response.history:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(hop.headers.get("Location", "")).query)
            self.codes += query.get("code", [])


@pytest.fixture
def app(sandbox):
    sandbox.register_client(CLIENT_ID, CLIENT_SECRET)
    return sandbox


def stored_token(sb, path: Path, **issue_kwargs) -> TokenFile:
    store = TokenFile(path)
    store.save(sb.issue_token(client_id=CLIENT_ID, **issue_kwargs))
    return store


def app_client(sb, store: TokenFile, clock=time.time) -> SmashRunClient:
    return SmashRunClient(sb.api_base, AppToken(CLIENT_ID, CLIENT_SECRET, store, sb.auth_base, clock=clock), retry=FAST)


def token_posts(sb) -> list:
    return [r for r in sb.requests if r.path == "/oauth2/token"]


# ------------------------------------------------------------------------------------------ code flow


def test_code_flow_end_to_end(app, tmp_path):
    store = TokenFile(tmp_path / "conf" / "token.json")
    before = time.time()
    token = authorize(CLIENT_ID, CLIENT_SECRET, app.auth_base, store, open_url=Browser(), timeout=10)

    [authorize_request] = [r for r in app.requests if r.path == "/oauth2/authenticate"]
    assert authorize_request.query["response_type"] == "code"
    assert authorize_request.query["scope"] == "read_activity"
    assert authorize_request.query["redirect_uri"].startswith("http://127.0.0.1:")
    assert "client_secret" not in authorize_request.query
    [exchange] = token_posts(app)
    assert exchange.status == 200

    mode = stat.S_IMODE(os.stat(store.path).st_mode)
    assert mode == 0o600
    on_disk = json.loads(store.path.read_text())
    assert on_disk["access_token"] == token["access_token"] and on_disk["refresh_token"]
    assert before + 12 * WEEK - 5 <= on_disk["expires_at"] <= time.time() + 12 * WEEK + 5
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["token.json"]  # no temp file left

    client = app_client(app, store)
    assert client.userinfo()["userName"] == app.athlete.user_name


def test_code_flow_errors_are_clear(app, tmp_path):
    store = TokenFile(tmp_path / "token.json")
    with pytest.raises(MyRunStreakError, match="invalid_client"):
        authorize("unknown-app", CLIENT_SECRET, app.auth_base, store, open_url=Browser(), timeout=10)
    with pytest.raises(MyRunStreakError, match="refused the authorization code"):  # wrong secret at exchange
        authorize(CLIENT_ID, "wrong-secret", app.auth_base, store, open_url=Browser(), timeout=10)
    started = time.monotonic()
    with pytest.raises(MyRunStreakError, match="no authorization arrived"):
        authorize(CLIENT_ID, CLIENT_SECRET, app.auth_base, store, open_url=lambda url: None, timeout=0.5)
    assert time.monotonic() - started < 3
    assert not store.exists()


def test_auth_cli_end_to_end(app, tmp_path):
    token_file = tmp_path / "token.json"
    env = dict(
        os.environ,
        SMASHRUN_CLIENT_ID=CLIENT_ID,
        SMASHRUN_CLIENT_SECRET=CLIENT_SECRET,
        SMASHRUN_AUTH_BASE=app.auth_base,
        SMASHRUN_TOKEN_FILE=str(token_file),
    )
    env.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
    driver = (
        "import argparse, sys\nfrom myrunstreak_pipeline.cli import auth as auth_cli\n"
        "parser = argparse.ArgumentParser()\nauth_cli.add_arguments(parser)\n"
        "sys.exit(auth_cli.command(parser.parse_args(sys.argv[1:])))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", driver, "--no-browser", "--timeout", "20"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    browser = Browser()

    def follow() -> None:
        for line in process.stdout:  # ends when the process exits
            lines.append(line)
            if line.strip().startswith("http://"):
                browser(line.strip())

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        process.wait(timeout=40)
    finally:
        if process.poll() is None:
            process.kill()
        reader.join(5)
    stderr = process.stderr.read()
    output = "".join(lines) + stderr
    assert process.returncode == 0, output
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    token = json.loads(token_file.read_text())
    assert "expires_at" in token
    assert browser.codes
    for secret in [CLIENT_SECRET, token["access_token"], token["refresh_token"], *browser.codes]:
        assert secret not in output


def test_auth_cli_checks_the_token_file_before_spending_a_code(app, tmp_path, monkeypatch, capsys):
    from myrunstreak_pipeline import cli

    monkeypatch.delenv("SMASHRUN_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("SMASHRUN_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SMASHRUN_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SMASHRUN_AUTH_BASE", app.auth_base)
    for token_file in [tmp_path, tmp_path / "a-file" / "token.json"]:
        (tmp_path / "a-file").write_text("not a folder")
        code = cli.main(["auth", "--no-browser", "--timeout", "5", "--token-file", str(token_file)])
        err = capsys.readouterr().err
        assert code == 2 and "--token-file" in err and "hint:" in err and "Traceback" not in err
    assert not [r for r in app.requests if r.path.startswith("/oauth2/")]  # no code was asked for, none spent


def test_auth_cli_without_app_credentials_gives_a_hint(monkeypatch):
    from myrunstreak_pipeline.cli import auth as auth_cli

    monkeypatch.delenv("SMASHRUN_CLIENT_ID", raising=False)
    monkeypatch.delenv("SMASHRUN_CLIENT_SECRET", raising=False)
    with pytest.raises(MyRunStreakError, match="SMASHRUN_CLIENT_ID") as info:
        auth_cli.command(argparse_namespace(no_browser=True, timeout=1.0, port=0, token_file=None))
    assert "SMASHRUN_ACCESS_TOKEN" in info.value.hint


def argparse_namespace(**kwargs):
    import argparse

    return argparse.Namespace(**kwargs)


# ---------------------------------------------------------------------------------------------- refresh


def test_proactive_refresh_at_half_life_rotates_and_persists(app, tmp_path):
    store = stored_token(app, tmp_path / "token.json")
    old = store.load()

    def seven_weeks_later() -> float:
        return time.time() + 7 * WEEK

    client = app_client(app, store, clock=seven_weeks_later)

    assert client.userinfo()["userName"] == app.athlete.user_name
    assert client.refresh_count == 1
    new = store.load()
    assert new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
    assert new["expires_at"] == pytest.approx(seven_weeks_later() + 12 * WEEK, abs=5)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    statuses = [(r.path, r.status) for r in app.requests]
    assert statuses == [("/oauth2/token", 200), ("/v1/my/userinfo", 200)]  # refreshed before the call

    client.list_ids()  # the fresh token is not refreshed again
    assert client.refresh_count == 1
    # The sandbox rotated the refresh token: the old one is dead, so persisting the new one mattered.
    reply = requests.post(
        f"{app.auth_base}/oauth2/token",
        timeout=5,
        data={
            "grant_type": "refresh_token",
            "refresh_token": old["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"
    # A new process picks the rotated token up from the file.
    assert app_client(app, TokenFile(store.path)).list_ids()


def test_expired_token_server_401_forces_one_refresh_then_succeeds(app, tmp_path):
    store = stored_token(app, tmp_path / "token.json", expires_in=3600)
    client = app_client(app, store)
    app.clock.advance(2 * 3600)  # expired on the server; our clock still thinks it is fresh

    result = client.list_activities()
    assert len(result.activities) == len(app.athlete.sorted_ids())
    assert client.refresh_count == 1
    assert [(r.path, r.status) for r in app.requests] == [
        ("/v1/my/activities/search/extended", 401),
        ("/oauth2/token", 200),
        ("/v1/my/activities/search/extended", 200),
    ]
    assert store.load()["access_token"] == client._session.token["access_token"]


def test_expired_refresh_token_asks_to_reauthorize(app, tmp_path):
    store = stored_token(app, tmp_path / "token.json")
    client = app_client(app, store)
    app.clock.advance(13 * WEEK)  # both the access and the refresh token have expired
    with pytest.raises(SmashRunAuthError, match="invalid_grant") as info:
        client.userinfo()
    assert "myrunstreak auth" in info.value.hint and info.value.path == "/my/userinfo"
    token = store.load()
    assert token["refresh_token"] not in str(info.value) and CLIENT_SECRET not in str(info.value)


def test_user_level_token_cannot_refresh(sandbox):
    auth = UserToken("test-token")
    assert not auth.can_refresh and not auth.needs_refresh(time.time() + 100 * WEEK)
    client = SmashRunClient(sandbox.api_base, auth, retry=FAST)
    assert client.userinfo()
    assert client.refresh_count == 0 and not [r for r in sandbox.requests if r.path.startswith("/oauth2/")]


# ------------------------------------------------------------------------------- concurrent refreshers

RACER = """
import sys
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.smashrun.client import SmashRunClient
from myrunstreak_pipeline.smashrun.oauth import AppToken, TokenFile
from myrunstreak_pipeline.smashrun.retry import RetryPolicy

api_base, auth_base, path, client_id, client_secret = sys.argv[1:6]
auth = AppToken(client_id, client_secret, TokenFile(path), auth_base)
client = SmashRunClient(api_base, auth, retry=RetryPolicy(backoff_factor=0.01, timeout=(2.0, 5.0)))
print("ready", flush=True)
sys.stdin.readline()  # both processes start refreshing at the same moment
try:
    name = client.userinfo()["userName"]
except MyRunStreakError as error:
    print(f"error: {error}\\nhint: {error.hint}", flush=True)
    sys.exit(2)
print("ok", client.refresh_count, name, flush=True)
"""


def expired_token_file(sb, path: Path) -> TokenFile:
    """A stored app token whose access token expired a minute ago (its refresh token is still good)."""
    store = stored_token(sb, path, expires_in=3600)
    token = store.load()
    token["obtained_at"], token["expires_at"] = time.time() - 3660, time.time() - 60
    store.save(token)
    return store


def test_two_processes_refreshing_the_same_expired_token_both_carry_on(app, tmp_path):
    store = expired_token_file(app, tmp_path / "token.json")
    refresh_token = store.load()["refresh_token"]
    args = [app.api_base, app.auth_base, str(store.path), CLIENT_ID, CLIENT_SECRET]
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for racer in racers:
            assert racer.stdout.readline().strip() == "ready"
        for racer in racers:  # go
            racer.stdin.write("go\n")
            racer.stdin.flush()
        outputs = [racer.communicate(timeout=60)[0] for racer in racers]
    finally:
        for racer in racers:
            if racer.poll() is None:
                racer.kill()
    for racer, output in zip(racers, outputs, strict=True):
        assert racer.returncode == 0 and output.startswith("ok"), output
        assert "myrunstreak auth" not in output and CLIENT_SECRET not in output
    # One refresh reached SmashRun; the other process found the winner's token in the file and used it.
    assert [r.status for r in token_posts(app)] == [200]
    stored = store.load()
    assert stored["refresh_token"] != refresh_token
    assert stat.S_IMODE(os.stat(store.lock_path).st_mode) == 0o600
    assert app_client(app, TokenFile(store.path)).userinfo()  # the stored token works


def test_two_threads_with_their_own_clients_share_one_refresh(app, tmp_path):
    store = expired_token_file(app, tmp_path / "token.json")
    clients = [app_client(app, TokenFile(store.path)) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list = []

    def race(client) -> None:
        barrier.wait()
        try:
            results.append(client.userinfo()["userName"])
        except MyRunStreakError as error:
            results.append(error)

    threads = [threading.Thread(target=race, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [app.athlete.user_name] * 2
    assert [r.status for r in token_posts(app)] == [200]
    assert clients[0]._session.token["access_token"] == clients[1]._session.token["access_token"]


def test_a_refused_refresh_uses_the_token_a_concurrent_refresher_stored(app, tmp_path, monkeypatch):
    """A refresher that ignores the lock (another host sharing the file) wins the race: SmashRun refuses our
    refresh token (rotated away), but the file now holds the winner's token - use it, no re-authorization."""
    store = expired_token_file(app, tmp_path / "token.json")
    old = store.load()
    client = app_client(app, store)
    ours = client._session.refresh_token

    def rival_goes_first(*args, **kwargs):
        reply = requests.post(
            f"{app.auth_base}/oauth2/token",
            timeout=5,
            data={
                "grant_type": "refresh_token",
                "refresh_token": old["refresh_token"],
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )
        TokenFile(store.path).save(reply.json())
        return ours(*args, **kwargs)

    monkeypatch.setattr(client._session, "refresh_token", rival_goes_first)
    assert client.userinfo()["userName"] == app.athlete.user_name
    assert [r.status for r in token_posts(app)] == [200, 400]  # the rival's, then our refused one
    assert client._session.token["access_token"] == store.load()["access_token"] != old["access_token"]


# ------------------------------------------------------------------------------------------- token file


def test_token_file_is_private_atomic_and_checked(tmp_path):
    store = TokenFile(tmp_path / "deep" / "token.json")
    with pytest.raises(MyRunStreakError, match="no SmashRun token file") as info:
        store.load()
    assert "myrunstreak auth" in info.value.hint

    store.save({"access_token": "a1", "refresh_token": "r1", "token_type": "Bearer", "expires_in": 100})
    first = store.load()
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert first["expires_at"] == pytest.approx(time.time() + 100, abs=5)
    store.save({"access_token": "a2", "refresh_token": "r2", "token_type": "Bearer", "expires_at": 123.0})
    assert store.load()["access_token"] == "a2" and store.load()["expires_at"] == 123.0
    assert [p.name for p in store.path.parent.iterdir()] == ["token.json"]

    store.path.write_text('{"refresh_token": "leaky-value"')
    with pytest.raises(MyRunStreakError, match="not a valid token") as info:
        store.load()
    assert "leaky-value" not in str(info.value)


def test_app_credentials_from_settings(app, tmp_path, monkeypatch):
    store = stored_token(app, tmp_path / "token.json")
    monkeypatch.delenv("SMASHRUN_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("SMASHRUN_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SMASHRUN_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SMASHRUN_TOKEN_FILE", str(store.path))
    monkeypatch.setenv("SMASHRUN_API_BASE", app.api_base)
    monkeypatch.setenv("SMASHRUN_AUTH_BASE", app.auth_base)
    client = SmashRunClient.from_settings(Settings.from_env(), retry=FAST)
    assert isinstance(client._auth, AppToken)
    assert client.list_ids()


# ------------------------------------------------------------------------------------------- redaction


def test_reprs_redact_secrets(app, tmp_path):
    store = stored_token(app, tmp_path / "token.json")
    token = store.load()
    auth = AppToken(CLIENT_ID, CLIENT_SECRET, store, app.auth_base)
    client = SmashRunClient(app.api_base, auth, retry=FAST)
    shown = " ".join(
        [
            repr(token),
            str(token),
            repr(auth),
            repr(client),
            repr(client._session),
            repr(store),
            repr(UserToken("user-token-xyz")),
        ]
    )
    for secret in (token["access_token"], token["refresh_token"], CLIENT_SECRET, "user-token-xyz"):
        assert secret not in shown
    assert "<redacted>" in repr(Token(access_token="x"))


def test_no_secret_reaches_logs_output_or_errors(app, tmp_path, caplog, capsys):
    # Someone turned everything up to DEBUG (requests-oauthlib would print whole token dicts there).
    for name in ("requests_oauthlib", "oauthlib", "urllib3"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    browser = Browser()
    store = TokenFile(tmp_path / "token.json")

    app.access_token_ttl = 3600  # so the access token can expire while the refresh token is still valid
    first = authorize(CLIENT_ID, CLIENT_SECRET, app.auth_base, store, open_url=browser, timeout=10)
    client = app_client(app, store)
    client.list_ids()
    app.clock.advance(2 * 3600)  # access token expired on the server only
    client.userinfo()  # 401 -> refresh -> retry
    second = store.load()
    with pytest.raises(MyRunStreakError) as info:  # user-level token rejected
        SmashRunClient(app.api_base, UserToken("user-level-secret"), retry=FAST).userinfo()
    errors.append(f"{info.value} {info.value.hint} {info.value!r}")
    with pytest.raises(MyRunStreakError) as info:  # refresh token dead
        app.clock.advance(13 * WEEK)
        client.userinfo()
    errors.append(f"{info.value} {info.value.hint} {info.value!r}")
    with pytest.raises(MyRunStreakError) as info:
        authorize(
            CLIENT_ID, "wrong-secret-value", app.auth_base, TokenFile(tmp_path / "x.json"), open_url=browser, timeout=10
        )
    errors.append(f"{info.value} {info.value.hint} {info.value!r}")

    assert client.refresh_count == 1 and second["access_token"] != first["access_token"]
    captured = capsys.readouterr()
    haystack = "\n".join([caplog.text, captured.out, captured.err, *errors])
    assert caplog.records  # the logs were really captured at DEBUG
    secrets = [
        CLIENT_SECRET,
        "wrong-secret-value",
        "user-level-secret",
        *browser.codes,
        first["access_token"],
        first["refresh_token"],
        second["access_token"],
        second["refresh_token"],
    ]
    assert len(browser.codes) == 2
    for secret in secrets:
        assert secret not in haystack
