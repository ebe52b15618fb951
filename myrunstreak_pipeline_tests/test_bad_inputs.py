"""Trust at the edges: a table of bad inputs (environment variables and flags) walked through every subcommand as
a real process. Each must end with exit status 2, one ``error:`` line naming the variable or flag plus one
``hint:`` line, no traceback, no secret, and nothing changed on disk (the case's folder - its cwd, HOME and
DAGSTER_HOME - is snapshotted before and after; a pre-existing database keeps its bytes).

The processes run concurrently (a few at a time) in one module fixture; each case is then its own test.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from myrunstreak_pipeline.cli import SUBCOMMANDS

BIN = Path(sys.executable).parent / "myrunstreak"
SECRET_TOKEN = "sr-access-7f3a9c0d-must-not-leak"
SECRET_CLIENT = "sr-client-secret-e41b77-must-not-leak"
SECRET_AWS = "aws-secret-key-9d2c55aa-must-not-leak"
SECRET_IN_FILE = "leaky-refresh-token-0c1d"
SECRETS = (SECRET_TOKEN, SECRET_CLIENT, SECRET_AWS, SECRET_IN_FILE)
WORKERS = 4
TIMEOUT = 60
# Flags that let each command get past argparse (and finish quickly should a bad input slip through).
BASE_ARGS = {
    "auth": ["--no-browser", "--timeout", "2"],
    "sandbox": ["--port", "0"],
    "import": ["{cwd}"],
    "runs": ["--duplicates"],
    "override": ["list"],
    "travel": ["list"],
}
AWS_NONE = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}
AWS_BAD = {"AWS_ACCESS_KEY_ID": "AKIAMYRUNSTREAKBAD01", "AWS_SECRET_ACCESS_KEY": SECRET_AWS}
APP_ONLY = {"SMASHRUN_ACCESS_TOKEN": None}


@dataclass(frozen=True)
class Case:
    """``argv`` and ``env`` values are templates: {cwd} (the case's folder), {api} (a healthy sandbox) and the
    servers' addresses below. ``env`` None values unset the variable. ``names``: what the output must name."""

    id: str
    argv: tuple[str, ...]
    names: tuple[str, ...]
    env: dict[str, str | None] = field(default_factory=dict)
    files: tuple[str, ...] = ()  # pre-existing files made by ``_make_files`` (see there)


def case(id: str, argv: str, *names: str, files: tuple[str, ...] = (), **env: str | None) -> Case:
    return Case(id, tuple(argv.split()), names, env, files)


# --------------------------------------------------------------------------------------------- the table

ENVIRONMENT = [
    ("MYRUNSTREAK_TIMEZONE", "Mars/Base"),
    ("MYRUNSTREAK_HISTORY_START", "2099-01-01"),
    ("MYRUNSTREAK_HISTORY_START", "0001-01-01"),
    ("MYRUNSTREAK_STREAK_MIN_KM", "-1"),
    ("MYRUNSTREAK_STREAK_MIN_KM", "1e309"),
    ("MYRUNSTREAK_STREAK_MIN_KM", "nan"),
    ("MYRUNSTREAK_S3_ENDPOINT_URL", "notaurl"),
    ("MYRUNSTREAK_POOL_TIMEOUT", "0"),
    ("MYRUNSTREAK_DETAIL_MAX_ATTEMPTS", "0"),
    ("MYRUNSTREAK_DB", "   "),
    ("SMASHRUN_API_BASE", "ftp://example.com/v1"),
]


def _ignored(command: str) -> set[str]:
    """Variables a command sets itself (``settings_overrides``): the user's values are ignored, not refused."""
    import importlib

    from myrunstreak_pipeline.settings import Settings

    module = importlib.import_module(SUBCOMMANDS[command][0])
    fields = module.settings_overrides(None) if hasattr(module, "settings_overrides") else {}
    return {Settings.model_fields[name].validation_alias for name in fields}


ENV_CASES = [
    Case(f"{command}-{name}={value.strip() or 'blank'}", (command, *BASE_ARGS.get(command, [])), (name,), {name: value})
    for command in SUBCOMMANDS
    for name, value in ENVIRONMENT
    if name not in _ignored(command)
]

RUN_CASES = [
    case("run-no-credentials", "run", "SMASHRUN_ACCESS_TOKEN", SMASHRUN_ACCESS_TOKEN=None, SMASHRUN_CLIENT_ID=None),
    case("run-token-file-missing", "run", "SMASHRUN_TOKEN_FILE", **APP_ONLY, SMASHRUN_TOKEN_FILE="{cwd}/none.json"),
    case("run-token-file-folder", "run", "SMASHRUN_TOKEN_FILE", **APP_ONLY, SMASHRUN_TOKEN_FILE="{cwd}"),
    case(
        "run-token-file-garbage",
        "run",
        "SMASHRUN_TOKEN_FILE",
        files=("token.json",),
        **APP_ONLY,
        SMASHRUN_TOKEN_FILE="{cwd}/token.json",
    ),
    case("run-db-folder", "run", "MYRUNSTREAK_DB", MYRUNSTREAK_DB="{cwd}"),
    case("run-db-truncated", "run", "MYRUNSTREAK_DB", files=("truncated.duckdb",), MYRUNSTREAK_DB="truncated.duckdb"),
    case("run-db-garbage", "run", "MYRUNSTREAK_DB", files=("garbage.duckdb",), MYRUNSTREAK_DB="garbage.duckdb"),
    case("run-db-empty-file", "run", "MYRUNSTREAK_DB", files=("empty.duckdb",), MYRUNSTREAK_DB="empty.duckdb"),
    case("run-db-read-only", "run", "MYRUNSTREAK_DB", files=("readonly.duckdb",), MYRUNSTREAK_DB="readonly.duckdb"),
    case("run-db-under-a-file", "run", "MYRUNSTREAK_DB", files=("afile",), MYRUNSTREAK_DB="{cwd}/afile/runs.duckdb"),
    case("run-db-s3-no-key", "run", "MYRUNSTREAK_DB", MYRUNSTREAK_DB="s3://bucket"),
    case("run-db-s3-no-file-name", "run", "MYRUNSTREAK_DB", MYRUNSTREAK_DB="s3://bucket/"),
    case("run-db-s3-folder-key", "run", "MYRUNSTREAK_DB", MYRUNSTREAK_DB="s3://bucket/runs/"),
    case("run-db-s3-no-aws-credentials", "run", "MYRUNSTREAK_DB", **AWS_NONE, MYRUNSTREAK_DB="s3://bucket/r.duckdb"),
    case(
        "run-db-s3-partial-aws-credentials",
        "run",
        "MYRUNSTREAK_DB",
        AWS_ACCESS_KEY_ID="AKIAMYRUNSTREAKBAD01",
        AWS_SECRET_ACCESS_KEY=None,
        MYRUNSTREAK_DB="s3://bucket/r.duckdb",
    ),
    case(
        "run-db-s3-bad-aws-credentials",
        "run",
        "MYRUNSTREAK_DB",
        **AWS_BAD,
        MYRUNSTREAK_DB="s3://bucket/r.duckdb",
        MYRUNSTREAK_S3_ENDPOINT_URL="{s3_denied}",
    ),
    case(
        "run-db-s3-endpoint-unreachable",
        "run",
        "MYRUNSTREAK_DB",
        **AWS_BAD,
        MYRUNSTREAK_DB="s3://bucket/r.duckdb",
        MYRUNSTREAK_S3_ENDPOINT_URL="http://127.0.0.1:{closed}",
    ),
    case("run-dagster-home-a-file", "run", "DAGSTER_HOME", files=("afile",), DAGSTER_HOME="{cwd}/afile"),
    case(
        "run-calendar-dir-a-file", "run", "MYRUNSTREAK_CALENDAR_DIR", files=("afile",), MYRUNSTREAK_CALENDAR_DIR="afile"
    ),
    case("run-api-answers-500-forever", "run", "SMASHRUN_API_BASE", SMASHRUN_API_BASE="{api_500}/v1"),
    case("run-api-answers-garbage-json", "run", "SMASHRUN_API_BASE", SMASHRUN_API_BASE="{api_garbage}/v1"),
    case("run-api-does-not-speak-http", "run", "SMASHRUN_API_BASE", SMASHRUN_API_BASE="{not_http}/v1"),
    case("run-api-unreachable", "run", "SMASHRUN_API_BASE", SMASHRUN_API_BASE="http://127.0.0.1:{closed}/v1"),
    case("run-api-base-without-v1", "run", "SMASHRUN_API_BASE", SMASHRUN_API_BASE="{api_root}"),
    case("run-api-plain-http", "run", "SMASHRUN_API_BASE", SMASHRUN_API_BASE="http://example.com/v1"),
    case(
        "run-auth-plain-http",
        "run",
        "SMASHRUN_AUTH_BASE",
        files=("token.ok",),
        **APP_ONLY,
        SMASHRUN_TOKEN_FILE="token.ok",
        SMASHRUN_AUTH_BASE="http://example.com",
    ),
    case("run-verbose-api-500", "-v run", "SMASHRUN_API_BASE", SMASHRUN_API_BASE="{api_500}/v1"),
    case("run-unknown-flag", "run --bogus", "--bogus"),
]

DEMO_CASES = [
    case("demo-years-0", "demo --years 0", "--years"),
    case("demo-years-negative", "demo --years -3", "--years"),
    case("demo-years-huge", "demo --years 100000", "--years"),
    case("demo-years-not-a-number", "demo --years ten", "--years"),
    case("demo-seed-not-a-number", "demo --seed x", "--seed"),
    case("demo-db-folder", "demo --db {cwd}", "--db"),
    case("demo-db-truncated", "demo --db truncated.duckdb", "--db", files=("truncated.duckdb",)),
    case("demo-db-garbage", "demo --db garbage.duckdb", "--db", files=("garbage.duckdb",)),
    case("demo-db-read-only", "demo --db readonly.duckdb", "--db", files=("readonly.duckdb",)),
    case("demo-db-under-a-file", "demo --db afile/demo.duckdb", "--db", files=("afile",)),
    case("demo-db-s3-no-key", "demo --db s3://bucket/", "--db"),
    case("demo-db-s3-no-aws-credentials", "demo --db s3://bucket/d.duckdb", "--db", **AWS_NONE),
    case(
        "demo-db-s3-bad-aws-credentials",
        "demo --db s3://bucket/d.duckdb",
        "--db",
        **AWS_BAD,
        MYRUNSTREAK_S3_ENDPOINT_URL="{s3_denied}",
    ),
    case("demo-dagster-home-a-file", "demo", "DAGSTER_HOME", files=("afile",), DAGSTER_HOME="{cwd}/afile"),
]

STREAK_CASES = [
    case("streak-db-missing", "streak --db missing.duckdb", "--db"),
    case("streak-db-folder", "streak --db {cwd}", "--db"),
    case("streak-db-truncated", "streak --db truncated.duckdb", "--db", files=("truncated.duckdb",)),
    case("streak-db-garbage", "streak --db garbage.duckdb", "--db", files=("garbage.duckdb",)),
    case(
        "streak-env-db-truncated",
        "streak",
        "MYRUNSTREAK_DB",
        files=("truncated.duckdb",),
        MYRUNSTREAK_DB="truncated.duckdb",
    ),
    case("streak-db-s3-no-key", "streak --db s3://bucket", "--db"),
    case("streak-env-db-s3-no-key", "streak", "MYRUNSTREAK_DB", MYRUNSTREAK_DB="s3://bucket/"),
    case("streak-db-s3-no-aws-credentials", "streak --db s3://bucket/r.duckdb", "--db", **AWS_NONE),
    case(
        "streak-db-s3-bad-aws-credentials",
        "streak --db s3://bucket/r.duckdb",
        "--db",
        **AWS_BAD,
        MYRUNSTREAK_S3_ENDPOINT_URL="{s3_denied}",
    ),
    case("streak-today-not-a-date", "streak --today 2024-13-45", "--today"),
    case("streak-calendar-not-png-or-svg", "streak --calendar cal.txt", "--calendar"),
    case("streak-calendar-under-a-file", "streak --calendar afile/cal.png", "--calendar", files=("afile",)),
    case("streak-calendar-years-0", "streak --calendar-years 0", "--calendar-years"),
    case("streak-format-without-record", "streak --format csv", "--format"),
    case("streak-format-unknown", "streak --record --format xml", "--format"),
    case("streak-record-with-json", "streak --record --json", "--record", "--json"),
]

AUTH = "auth --no-browser --timeout 2"
AUTH_CASES = [
    case("auth-no-app-credentials", AUTH, "SMASHRUN_CLIENT_ID", SMASHRUN_CLIENT_ID=None, SMASHRUN_CLIENT_SECRET=None),
    case("auth-token-file-a-folder", f"{AUTH} --token-file {{cwd}}", "--token-file"),
    case("auth-token-file-under-a-file", f"{AUTH} --token-file afile/t.json", "--token-file", files=("afile",)),
    case("auth-env-token-file-a-folder", AUTH, "SMASHRUN_TOKEN_FILE", SMASHRUN_TOKEN_FILE="{cwd}"),
    case("auth-port-out-of-range", f"{AUTH} --port 99999", "--port"),
    case("auth-port-negative", f"{AUTH} --port -1", "--port"),
    case("auth-port-not-a-number", f"{AUTH} --port http", "--port"),
    case("auth-port-in-use", f"{AUTH} --port {{busy}}", "--port"),
    case("auth-timeout-zero", "auth --no-browser --timeout 0", "--timeout"),
    case("auth-timeout-nan", "auth --no-browser --timeout nan", "--timeout"),
    case("auth-plain-http-auth-base", AUTH, "SMASHRUN_AUTH_BASE", SMASHRUN_AUTH_BASE="http://example.com"),
]

SANDBOX_CASES = [
    case("sandbox-port-out-of-range", "sandbox --port 99999", "--port"),
    case("sandbox-port-negative", "sandbox --port -1", "--port"),
    case("sandbox-port-in-use", "sandbox --port {busy}", "--port"),
    case("sandbox-host-not-this-machine", "sandbox --port 0 --host 10.255.255.1", "--host"),
    case("sandbox-years-0", "sandbox --port 0 --years 0", "--years"),
    case("sandbox-years-huge", "sandbox --port 0 --years 1000", "--years"),
    case("sandbox-rate-limit-negative", "sandbox --port 0 --rate-limit -1", "--rate-limit"),
    case("sandbox-data-missing", "sandbox --port 0 --data none.json", "--data"),
    case("sandbox-data-garbage", "sandbox --port 0 --data garbage.duckdb", "--data", files=("garbage.duckdb",)),
    case("sandbox-data-not-a-list", "sandbox --port 0 --data object.json", "--data", files=("object.json",)),
    case("sandbox-client-id-without-secret", "sandbox --port 0 --client-id app", "--client-secret"),
]

SERVE_CASES = [
    case("serve-db-missing", "serve --db missing.duckdb --port 0", "--db"),
    case("serve-db-garbage", "serve --db garbage.duckdb --port 0", "--db", files=("garbage.duckdb",)),
    case(
        "serve-env-db-truncated",
        "serve --port 0",
        "MYRUNSTREAK_DB",
        files=("truncated.duckdb",),
        MYRUNSTREAK_DB="truncated.duckdb",
    ),
    case("serve-db-s3-no-key", "serve --db s3://bucket --port 0", "--db"),
    case("serve-port-out-of-range", "serve --port 99999", "--port"),
    case("serve-port-in-use", "serve --db readonly.duckdb --port {busy}", "--port", files=("readonly.duckdb",)),
    case(
        "serve-host-not-this-machine",
        "serve --db readonly.duckdb --port 0 --host 10.255.255.1",
        "--host",
        files=("readonly.duckdb",),
    ),
    case("serve-workers-0", "serve --port 0 --workers 0", "--workers"),
    case("serve-workers-too-many", "serve --port 0 --workers 33", "--workers"),
    case("serve-workers-not-a-number", "serve --port 0 --workers many", "--workers"),
]

IMPORT_CASES = [
    case("import-path-missing", "import {cwd}/nothing-here.fit", "nothing-here.fit"),
    case("import-db-garbage", "import {cwd} --db garbage.duckdb", "--db", files=("garbage.duckdb",)),
    case("import-db-read-only", "import {cwd} --db readonly.duckdb", "--db", files=("readonly.duckdb",)),
    case("import-workers-0", "import {cwd} --workers 0", "--workers"),
    case("import-workers-not-a-number", "import {cwd} --workers many", "--workers"),
    case(
        "import-sports-cycling",
        "import {cwd}",
        "MYRUNSTREAK_STREAK_SPORTS",
        MYRUNSTREAK_STREAK_SPORTS="running,cycling",
    ),
    case("import-sports-unknown", "import {cwd}", "MYRUNSTREAK_STREAK_SPORTS", MYRUNSTREAK_STREAK_SPORTS="rowing"),
    case("import-dir-s3-no-bucket", "import {cwd}", "MYRUNSTREAK_IMPORT_DIR", MYRUNSTREAK_IMPORT_DIR="s3:///x"),
]

RUNS_CASES = [
    case("runs-no-action", "runs", "--duplicates"),
    case("runs-split-and-unsplit", "runs --split a --unsplit b", "--unsplit"),
    case("runs-db-garbage", "runs --duplicates --db garbage.duckdb", "--db", files=("garbage.duckdb",)),
    case("runs-split-db-missing", "runs --split file:0 --db missing.duckdb", "--db"),
]

OVERRIDE_ADD = "override add 2024-01-01 --km 5"
OVERRIDE_CASES = [
    case("override-no-action", "override", "{add,remove,list}"),
    case("override-add-not-a-date", "override add 2024-13-45 --km 5 --reason x", "DATE"),
    case("override-add-km-negative", "override add 2024-01-01 --km -1 --reason x", "--km"),
    case("override-add-km-nan", "override add 2024-01-01 --km nan --reason x", "--km"),
    case("override-add-km-too-far", "override add 2024-01-01 --km 2000.5 --reason x", "--km"),
    case("override-add-no-reason", OVERRIDE_ADD, "--reason"),
    case("override-add-blank-reason", f"{OVERRIDE_ADD} --reason=", "--reason"),
    case("override-add-future", "override add 2999-01-01 --km 5 --reason x", "2999-01-01", MYRUNSTREAK_TIMEZONE="UTC"),
    case("override-add-db-missing", f"{OVERRIDE_ADD} --reason x --db missing.duckdb", "--db"),
    case(
        "override-add-db-garbage", f"{OVERRIDE_ADD} --reason x --db garbage.duckdb", "--db", files=("garbage.duckdb",)
    ),
    case(
        "override-add-db-read-only",
        f"{OVERRIDE_ADD} --reason x --db readonly.duckdb",
        "--db",
        files=("readonly.duckdb",),
    ),
    case("override-remove-db-missing", "override remove 2024-01-01 --db missing.duckdb", "--db"),
    case("override-list-db-missing", "override list --db missing.duckdb", "--db"),
    case("override-list-db-s3-no-key", "override list --db s3://bucket/", "--db"),
]

TRAVEL_SET = "travel set 2024-01-01 --side arrival"
TRAVEL_CASES = [
    case("travel-no-action", "travel", "{set,remove,list}"),
    case("travel-set-zone-unknown", f"{TRAVEL_SET} --zone Mars/Base", "--zone"),
    case("travel-set-no-zone", TRAVEL_SET, "--zone"),
    case("travel-set-side-unknown", "travel set 2024-01-01 --zone UTC --side sideways", "--side"),
    case("travel-set-db-missing", f"{TRAVEL_SET} --zone Europe/London --db missing.duckdb", "--db"),
    case("travel-remove-not-a-date", "travel remove 2024-02-30", "DATE"),
    case("travel-list-db-garbage", "travel list --db garbage.duckdb", "--db", files=("garbage.duckdb",)),
]

CASES = (
    ENV_CASES
    + RUN_CASES
    + DEMO_CASES
    + STREAK_CASES
    + AUTH_CASES
    + SANDBOX_CASES
    + SERVE_CASES
    + IMPORT_CASES
    + RUNS_CASES
    + OVERRIDE_CASES
    + TRAVEL_CASES
)


# ------------------------------------------------------------------------------------------------ servers


class _Fixed(http.server.BaseHTTPRequestHandler):
    """Answers every request with the server's (status, body)."""

    def _answer(self) -> None:
        status, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def _serve_fixed(status: int, body: bytes) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Fixed)
    server.answer = (status, body)  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _serve_not_http() -> socket.socket:
    """Accepts connections and answers bytes that are not HTTP."""
    listener = socket.create_server(("127.0.0.1", 0))

    def loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(b"\x00\xffSSH-2.0-not-http\r\n\r\n")

    threading.Thread(target=loop, daemon=True).start()
    return listener


@pytest.fixture(scope="module")
def servers():
    from myrunstreak_pipeline.sandbox import SandboxServer

    with SandboxServer(years=1, seed=3, token=SECRET_TOKEN, rate_limit=None) as sandbox:
        fixed = {
            "api_500": _serve_fixed(500, b'{"Message": "An error has occurred."}'),
            "api_garbage": _serve_fixed(200, b'{"activityId": 1,, "distance": ]]'),
            "s3_denied": _serve_fixed(403, b"<Error><Code>InvalidAccessKeyId</Code></Error>"),
        }
        not_http = _serve_not_http()
        busy = socket.create_server(("127.0.0.1", 0))  # listening: the port is in use
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]
        values = {name: f"http://127.0.0.1:{server.server_address[1]}" for name, server in fixed.items()}
        values |= {
            "api": sandbox.api_base,
            "api_root": sandbox.base_url,
            "not_http": f"http://127.0.0.1:{not_http.getsockname()[1]}",
            "busy": str(busy.getsockname()[1]),
            "closed": str(closed),
        }
        try:
            yield values
        finally:
            for server in fixed.values():
                server.shutdown()
                server.server_close()
            not_http.close()
            busy.close()


# ----------------------------------------------------------------------------------------- running a case


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    before: dict
    after: dict
    seconds: float


def _make_files(folder: Path, names: tuple[str, ...], valid_db: bytes) -> None:
    for name in names:
        path = folder / name
        if name == "truncated.duckdb":
            path.write_bytes(valid_db[: len(valid_db) // 3])
        elif name == "readonly.duckdb":
            path.write_bytes(valid_db)
            path.chmod(0o444)
        elif name == "garbage.duckdb":
            path.write_text("these are not the runs you are looking for\n" * 20)
        elif name == "empty.duckdb":
            path.write_bytes(b"")
        elif name == "token.json":
            path.write_text('{"refresh_token": "' + SECRET_IN_FILE + '"')
        elif name == "token.ok":
            path.write_text('{"access_token": "a", "refresh_token": "' + SECRET_IN_FILE + '", "expires_at": 9e9}')
        elif name == "object.json":
            path.write_text('{"activities": []}')
        elif name == "afile":
            path.write_text("a plain file\n")
        else:
            raise AssertionError(f"unknown test file {name}")


def _snapshot(root: Path) -> dict:
    """Every path under ``root``: (size, mtime_ns, sha256 of files)."""
    shot = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        shot[str(path.relative_to(root))] = (info.st_size if path.is_file() else 0, info.st_mtime_ns, digest)
    return shot


def _environment(case: Case, root: Path, values: dict) -> dict:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SMASHRUN_", "MYRUNSTREAK_", "AWS_", "DAGSTER_", "OAUTHLIB_"))
    }
    env |= {
        "HOME": str(root / "home"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SMASHRUN_ACCESS_TOKEN": SECRET_TOKEN,
        "SMASHRUN_CLIENT_ID": "myrunstreak-bad-inputs",
        "SMASHRUN_CLIENT_SECRET": SECRET_CLIENT,
        "SMASHRUN_API_BASE": values["api"],
        "SMASHRUN_AUTH_BASE": values["api"].removesuffix("/v1"),
        "MYRUNSTREAK_DB": str(root / "cwd" / "runs.duckdb"),
        "SMASHRUN_TOKEN_FILE": str(root / "home" / "token.json"),
    }
    for name, value in case.env.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value.format(cwd=root / "cwd", **values)
    return env


def _run(case: Case, root: Path, values: dict, valid_db: bytes) -> Outcome:
    cwd = root / "cwd"
    (root / "home").mkdir(parents=True)
    cwd.mkdir()
    _make_files(cwd, case.files, valid_db)
    env = _environment(case, root, values)
    argv = [part.format(cwd=cwd, **values) for part in case.argv]
    before = _snapshot(root)
    started = time.perf_counter()
    try:
        result = subprocess.run(
            [str(BIN), *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        code, out, err = result.returncode, result.stdout, result.stderr
    except subprocess.TimeoutExpired as expired:
        code, out, err = -1, str(expired.stdout or ""), f"timed out after {TIMEOUT} s\n{expired.stderr or ''}"
    return Outcome(code, out, err, before, _snapshot(root), time.perf_counter() - started)


@pytest.fixture(scope="module")
def outcomes(servers, tmp_path_factory) -> dict[str, Outcome]:
    base = tmp_path_factory.mktemp("bad_inputs")
    with duckdb.connect(str(base / "valid.duckdb")) as con:
        con.execute("CREATE TABLE runs AS SELECT range AS activity_id FROM range(50000)")
    valid_db = (base / "valid.duckdb").read_bytes()
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = {
            case.id: pool.submit(_run, case, base / f"case{i:03d}", servers, valid_db) for i, case in enumerate(CASES)
        }
        results = {name: future.result() for name, future in futures.items()}
    for path in base.rglob("*"):  # let tmp_path cleanup remove the read-only files
        if path.is_file():
            path.chmod(0o644)
    return results


# ------------------------------------------------------------------------------------------------- tests


def test_the_table_covers_every_subcommand():
    assert len({case.id for case in CASES}) == len(CASES)
    for command in SUBCOMMANDS:
        own = [case for case in CASES if command in case.argv]
        assert len(own) > len(ENVIRONMENT) - len(_ignored(command)), f"`myrunstreak {command}` needs flag cases"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_input_is_one_line_and_a_hint(case: Case, outcomes):
    outcome = outcomes[case.id]
    shown = f"exit {outcome.code}\nstdout:\n{outcome.out}\nstderr:\n{outcome.err}"
    assert outcome.code == 2, shown
    assert "Traceback" not in outcome.out + outcome.err, shown
    lines = [line for line in outcome.err.splitlines() if line.strip()]
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), shown
    assert outcome.out == "", shown  # nothing was started, so nothing was reported
    for name in case.names:
        assert name in outcome.err, f"{name} not named\n{shown}"
    for secret in SECRETS:
        assert secret not in outcome.out + outcome.err, shown
    assert outcome.after == outcome.before, "something changed on disk"


def test_fail_fast(outcomes):
    """Bad inputs are refused before the heavy imports (Dagster) and before any waiting."""
    slow = {name: round(o.seconds, 1) for name, o in outcomes.items() if o.seconds > 15}
    assert not slow


def test_the_servers_do_what_the_cases_assume(servers):
    """The healthy sandbox passes the API preflight; the broken ones do not (so the cases fail for their reason)."""
    from myrunstreak_pipeline.cli.preflight import check_api_reachable
    from myrunstreak_pipeline.errors import MyRunStreakError

    check_api_reachable(servers["api"])
    for broken, phrase in [("api_500", "HTTP 500"), ("api_garbage", "HTTP 200"), ("not_http", "does not answer HTTP")]:
        with pytest.raises(MyRunStreakError, match=phrase):
            check_api_reachable(servers[broken] + "/v1")
    assert shutil.which(str(BIN))
