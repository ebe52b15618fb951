"""Checks the CLI makes before any work, so the usual mistakes end in one clear line plus a hint
(``MyRunStreakError``) instead of a failed step and a traceback - and before anything on disk is changed.

* argument types (``port_number``, ``positive_seconds``, ``synthetic_years``, ...) for argparse: a bad flag is
  refused while parsing;
* ``check_port_free``: the address a server is about to listen on is free (named by its flag);
* ``check_database``: the database location is usable - a local file is a readable DuckDB database (opened
  read-only: no WAL file, no migration) and writable when the command writes, or a file that can be created;
  an ``s3://`` URI names a bucket and a file, AWS credentials resolve, and a HEAD on the object (or bucket)
  through the configured endpoint is allowed;
* ``check_before_run``: all of the above that ``myrunstreak run`` needs, plus the credentials, the folders it
  will create and whether the API answers.

The API check is a single GET without a token (no quota, no secret): SmashRun must refuse it (401/403). No
answer, a non-HTTP answer, 5xx several times, 404 or a 2xx (a captive portal, a wrong SMASHRUN_API_BASE) fail.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from myrunstreak_pipeline.errors import MyRunStreakError

if TYPE_CHECKING:  # every subcommand module imports this one: its own imports stay light (stdlib)
    from myrunstreak_pipeline.settings import Settings

CONNECT_TIMEOUT_SECONDS = 5.0
API_PROBE_PATH = "/my/userinfo"
API_PROBE_ATTEMPTS = 3  # a 5xx or a dropped connection is retried this often, PROBE_PAUSE_SECONDS apart
PROBE_PAUSE_SECONDS = 0.5
MAX_SYNTHETIC_YEARS = 100  # the history must start after 1900 (MYRUNSTREAK_HISTORY_START's floor)
S3_TIMEOUT_SECONDS = 5.0
DEFAULT_API_BASE = "https://api.smashrun.com/v1"  # settings.DEFAULT_API_BASE (not imported: kept light)
DB_HINT = "set {source} to a file path such as ~/myrunstreak/runs.duckdb (a new path creates the database)"

# ------------------------------------------------------------------------------------------- argument types


def whole_number(low: int, high: int | None, expected: str) -> Callable[[str], int]:
    """An argparse type: a whole number in ``low..high`` (``high`` None: no upper bound); anything else is the
    one-line error ``not <expected>: 'text'``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"not {expected}: {text!r}")
        return value

    return parse


port_number = whole_number(0, 65535, "a port number (1-65535, or 0 for any free port)")
synthetic_years = whole_number(1, MAX_SYNTHETIC_YEARS, f"a number of years between 1 and {MAX_SYNTHETIC_YEARS}")
non_negative_int = whole_number(0, None, "a whole number >= 0")


def positive_seconds(text: str) -> float:
    """argparse type: a positive, finite number of seconds (at most a day)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 86400):
        raise argparse.ArgumentTypeError(f"not a number of seconds between 0 and 86400: {text!r}")
    return value


# ------------------------------------------------------------------------------------------------- ports


def check_port_free(host: str, port: int, *, host_flag: str | None = "--host") -> None:
    """Bind (then release) ``host:port`` the way http.server does, so a busy port is one line naming --port."""
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise MyRunStreakError(
            f"{host_flag or 'host'} {host!r} is not an IPv4 address or known host name ({reason})",
            hint="use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
        ) from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server does
        try:
            sock.bind(address)
        except OSError as error:
            raise listen_error(error, host, port, host_flag=host_flag) from None


def listen_error(error: OSError, host: str, port: int, *, host_flag: str | None = "--host") -> MyRunStreakError:
    """One line for a failed bind/listen on ``host:port``, naming the flag to change."""
    another = "pick another --port (0 = any free port)"
    if error.errno == errno.EADDRINUSE:
        return MyRunStreakError(
            f"--port {port}: {host}:{port} is already in use", hint=f"{another}, or stop what uses it"
        )
    if error.errno == errno.EACCES:
        return MyRunStreakError(
            f"--port {port}: no permission to listen on {host}:{port}", hint=f"{another} above 1023"
        )
    if error.errno == errno.EADDRNOTAVAIL and host_flag:
        return MyRunStreakError(
            f"{host_flag} {host!r} is not an address of this machine",
            hint="use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
        )
    reason = error.strerror or type(error).__name__
    return MyRunStreakError(f"--port {port}: cannot listen on {host}:{port} ({reason})", hint=another)


# ---------------------------------------------------------------------------------------------- folders


def check_creatable(path: Path, source: str, what: str, hint: str) -> None:
    """``path`` (a file or folder about to be created, maybe with its parents) can be: the nearest existing
    ancestor is a folder this process may write. Nothing is created."""
    parent = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise MyRunStreakError(f"{source}: cannot create {what} {path}: {parent} is not a folder", hint=hint)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise MyRunStreakError(f"{source}: cannot create {what} {path}: no write permission in {parent}", hint=hint)


def check_folder(path_text: str, source: str) -> None:
    """A folder the command will create or write into: a folder already, or creatable."""
    path = Path(path_text).expanduser()
    hint = f"set {source} to a folder path (it is created when missing)"
    if path.exists() and not path.is_dir():
        raise MyRunStreakError(f"{source} is not a folder: {path}", hint=hint)
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise MyRunStreakError(f"{source}: no write permission in {path}", hint=hint)
        return
    check_creatable(path, source, "the folder", hint)


# --------------------------------------------------------------------------------------------- database


def is_s3_uri(value: str) -> bool:
    """``duckdb_ops.location.is_s3_uri`` without importing duckdb_ops (whose package imports DuckDB and Arrow)."""
    return value.lower().startswith("s3://")


def check_database(database: str, settings: Settings, *, source: str = "MYRUNSTREAK_DB", write: bool = True) -> None:
    """``database`` (named ``source`` in messages: the variable or the flag) can be used; see the module doc."""
    if database == ":memory:":
        return
    if not database.strip():
        raise MyRunStreakError(f"{source} is blank", hint=DB_HINT.format(source=source))
    if is_s3_uri(database):
        check_s3_database(database, settings.s3_endpoint_url, source=source, write=write)
    else:
        check_local_database(database, source=source, write=write)


def check_local_database(database: str, *, source: str = "MYRUNSTREAK_DB", write: bool = True) -> None:
    """A local database: an existing file must be a readable DuckDB database (and writable when ``write``); a
    missing one must be creatable (only when ``write``: readers report a missing file themselves)."""
    path = Path(database).expanduser()
    hint = DB_HINT.format(source=source)
    if path.is_dir():
        raise MyRunStreakError(f"{source} is a folder, not a database file: {path}", hint=hint)
    if not path.exists():
        if write:
            check_creatable(path, source, "the database", hint)
        return
    if not path.is_file():
        raise MyRunStreakError(f"{source} is not a regular file: {path}", hint=hint)
    _check_duckdb_file(path, source)
    if write:
        _check_writable(path, source)


def _check_duckdb_file(path: Path, source: str) -> None:
    restore = f"restore the file from a backup, or point {source} at another path (a new path starts afresh)"
    try:
        with path.open("rb") as handle:
            header = handle.read(12)
    except OSError as error:
        raise MyRunStreakError(f"{source}: cannot read {path} ({error.strerror})", hint=restore) from None
    if header[8:12] != b"DUCK":  # DuckDB's magic bytes sit at offset 8 (an empty file has none either)
        raise MyRunStreakError(f"{source}: cannot open database {path}: not a DuckDB database file", hint=restore)
    import duckdb

    try:  # read-only: writes nothing (no WAL file, no migration), and finds truncated or damaged files
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        if "lock" in first_line.lower():
            return  # another process is writing it: usable, the run waits for its turn
        raise MyRunStreakError(f"{source}: cannot open database {path} ({first_line})", hint=restore) from None


def _check_writable(path: Path, source: str) -> None:
    # The write bits count even for root (who may write anyway): a file made read-only was made so on purpose.
    if not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222:
        raise MyRunStreakError(
            f"{source}: the database {path} is read-only",
            hint=f"make it writable (chmod u+w) or point {source} at a writable copy; "
            "`myrunstreak streak` reads a read-only database",
        )
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise MyRunStreakError(
            f"{source}: no write permission in {path.parent} (DuckDB keeps its write-ahead log next to {path.name})",
            hint=f"make the folder writable, or point {source} at a writable folder",
        )


def check_s3_database(uri: str, endpoint_url: str | None, *, source: str = "MYRUNSTREAK_DB", write: bool = True):
    """An ``s3://bucket/key.duckdb`` database: the URI's shape, resolvable AWS credentials, and a HEAD on the
    object (a missing object is fine for a writer when the bucket exists) through ``endpoint_url``."""
    from myrunstreak_pipeline.duckdb_ops.location import parse_s3_uri

    try:
        location = parse_s3_uri(uri)
    except MyRunStreakError as error:
        raise MyRunStreakError(f"{source}: {error}", hint=f"use {source}=s3://<bucket>/<name>.duckdb") from None
    if location.key.rsplit("/", 1)[-1] in ("", ".", ".."):
        raise MyRunStreakError(
            f"{source}: the S3 key must end in a file name: {uri!r}",
            hint=f"use {source}=s3://{location.bucket}/<name>.duckdb",
        )
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    from myrunstreak_pipeline.duckdb_ops.s3.common import CREDENTIALS_HINT, head_object

    try:
        session = boto3.Session()
        credentials = session.get_credentials()
    except BotoCoreError as error:  # a missing profile, partial credentials: botocore names them, not values
        raise MyRunStreakError(
            f"{source} is on S3 but the AWS credentials are unusable ({error})", CREDENTIALS_HINT
        ) from None
    if credentials is None:
        raise MyRunStreakError(f"{source} is on S3 but no AWS credentials were found", hint=CREDENTIALS_HINT)
    config = Config(
        retries={"mode": "standard", "max_attempts": 2},
        connect_timeout=S3_TIMEOUT_SECONDS,
        read_timeout=S3_TIMEOUT_SECONDS,
        s3={"addressing_style": "path"} if endpoint_url else {},
    )
    try:
        client = session.client("s3", endpoint_url=endpoint_url, config=config)
        action = "checking"
        if head_object(client, location, action, must_exist=not write) is None:
            _head_bucket(client, location, action)
    except MyRunStreakError as error:
        hint = error.hint or f"check {source}, MYRUNSTREAK_S3_ENDPOINT_URL and the AWS credentials and region"
        raise MyRunStreakError(f"{source}: {error}", hint=hint) from None
    except BotoCoreError as error:
        raise MyRunStreakError(f"{source}: S3 check failed ({type(error).__name__})", hint=CREDENTIALS_HINT) from None


def _head_bucket(client, location, action: str) -> None:
    """No object yet (a first run creates it): the bucket must exist and let these credentials in."""
    from botocore.exceptions import BotoCoreError, ClientError

    from myrunstreak_pipeline.duckdb_ops.s3.common import http_status, storage_error

    try:
        client.head_bucket(Bucket=location.bucket)
    except ClientError as error:
        if http_status(error) == 404:
            error = ClientError({"Error": {"Code": "NoSuchBucket"}}, "HeadBucket")
        raise storage_error(error, location, action) from None
    except BotoCoreError as error:
        raise storage_error(error, location, action) from None


# ------------------------------------------------------------------------------------------ credentials, API


def check_credentials(settings: Settings) -> None:
    from myrunstreak_pipeline.smashrun.credentials import credentials_from_settings
    from myrunstreak_pipeline.smashrun.oauth import AppToken, require_secure_transport

    credentials = credentials_from_settings(settings)  # none set, no token file: the how-to hint
    app = [settings.auth_base] if isinstance(credentials, AppToken) else []
    require_secure_transport(settings.api_base, *app)  # a token over plain HTTP only to this machine


def check_api_reachable(api_base: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """One GET without a token on ``api_base``'s userinfo: the API must answer, and refuse it (see module doc)."""
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MyRunStreakError(
            f"SMASHRUN_API_BASE is not an http(s) URL: {api_base!r}",
            hint=f"the default is {DEFAULT_API_BASE} (unset SMASHRUN_API_BASE to use it)",
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    where = f"{parts.scheme}://{parts.hostname}:{port}"
    check = "check SMASHRUN_API_BASE"
    status = 0
    for attempt in range(API_PROBE_ATTEMPTS):
        if attempt:
            time.sleep(PROBE_PAUSE_SECONDS)
        status, problem, reason = _probe(api_base.rstrip("/") + API_PROBE_PATH, timeout)
        if problem == "unreachable":
            raise MyRunStreakError(
                f"cannot reach the SmashRun API at {where} ({reason})",
                hint="check the network connection and SMASHRUN_API_BASE; to try things offline, run "
                "`myrunstreak sandbox` and point SMASHRUN_API_BASE at it (or use `myrunstreak demo`)",
            )
        if problem is None and status < 500:
            break
    else:
        what = f"answers HTTP {status}" if status else f"does not answer HTTP ({problem})"
        raise MyRunStreakError(
            f"the SmashRun API at {where} {what} ({API_PROBE_ATTEMPTS} tries)",
            hint=f"SmashRun may be having trouble: try again later; {check} (default {DEFAULT_API_BASE})",
        )
    if status == 404:
        raise MyRunStreakError(
            f"SMASHRUN_API_BASE {api_base} has no {API_PROBE_PATH} (HTTP 404)",
            hint=f"the API base includes the version, e.g. {DEFAULT_API_BASE}",
        )
    if status < 400:
        raise MyRunStreakError(
            f"SMASHRUN_API_BASE {api_base} answered a request without a token with HTTP {status}: not the SmashRun API",
            hint=f"a Wi-Fi login page or a wrong address? {check} (default {DEFAULT_API_BASE})",
        )


def _probe(url: str, timeout: float) -> tuple[int, str | None, str]:
    """(HTTP status, problem, reason): problem None when an HTTP answer arrived, "unreachable" when no
    connection could be made, else what went wrong after connecting."""
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "myrunstreak"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) checked above
            return response.status, None, ""
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, None, ""
    except urllib.error.URLError as error:
        reason = error.reason
        text = reason if isinstance(reason, str) else getattr(reason, "strerror", None) or str(reason)
        return 0, "unreachable", text
    except (http.client.HTTPException, ConnectionError) as error:  # connected, then no (proper) HTTP answer
        return 0, type(error).__name__, ""
    except TimeoutError:
        return 0, "timed out", ""
    except OSError as error:
        return 0, "unreachable", error.strerror or type(error).__name__


# ---------------------------------------------------------------------------------------------------- run


def check_before_run(settings: Settings) -> None:
    """What ``myrunstreak run`` needs, cheapest first; nothing is written."""
    check_credentials(settings)
    check_database(settings.db, settings, source="MYRUNSTREAK_DB", write=True)
    check_folder(settings.dagster_home, "DAGSTER_HOME")
    if settings.calendar_dir:
        check_folder(settings.calendar_dir, "MYRUNSTREAK_CALENDAR_DIR")
    check_api_reachable(settings.api_base)
