"""Checks ``myrunstreak run`` makes before starting Dagster, so the usual mistakes end in one clear line plus a
hint (``MyRunStreakError``) instead of a failed step and a traceback: no credentials, an API host that cannot
be reached, a database path that cannot be a DuckDB file.

The API check is a TCP connection to the API host, not an HTTP request: it costs none of SmashRun's ~250
requests an hour and sends no token.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings import Settings

CONNECT_TIMEOUT_SECONDS = 5.0


def check_credentials(settings: Settings) -> None:
    from myrunstreak_pipeline.smashrun.credentials import credentials_from_settings

    credentials_from_settings(settings)  # raises MyRunStreakError with the how-to hint when none are set


def check_api_reachable(api_base: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
    parts = urlsplit(api_base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MyRunStreakError(
            f"SMASHRUN_API_BASE is not an http(s) URL: {api_base!r}",
            hint="the default is https://api.smashrun.com/v1 (unset SMASHRUN_API_BASE to use it)",
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise MyRunStreakError(
            f"cannot reach the SmashRun API at {parts.scheme}://{parts.hostname}:{port} ({reason})",
            hint="check the network connection and SMASHRUN_API_BASE; to try things offline, run "
            "`myrunstreak sandbox` and point SMASHRUN_API_BASE at it (or use `myrunstreak demo`)",
        ) from None


def check_database_path(database: str) -> None:
    """A local database path must be a DuckDB file or a place one can be created (s3:// is checked when used)."""
    if is_s3_uri(database) or database == ":memory:":
        return
    path = Path(database).expanduser()
    hint = "set MYRUNSTREAK_DB to a file path such as ~/myrunstreak/runs.duckdb"
    if path.is_dir():
        raise MyRunStreakError(f"MYRUNSTREAK_DB is a folder, not a database file: {path}", hint=hint)
    if path.exists():
        with path.open("rb") as handle:
            header = handle.read(12)
        if header and header[8:12] != b"DUCK":  # DuckDB's magic bytes sit at offset 8
            raise MyRunStreakError(f"MYRUNSTREAK_DB is not a DuckDB database: {path}", hint=hint)
        return
    parent = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise MyRunStreakError(f"cannot create the database {path}: {parent} is not a folder", hint=hint)
    import os

    if not os.access(parent, os.W_OK | os.X_OK):
        raise MyRunStreakError(f"cannot create the database {path}: no write permission in {parent}", hint=hint)


def check_before_run(settings: Settings) -> None:
    check_credentials(settings)
    check_database_path(settings.db)
    check_api_reachable(settings.api_base)
