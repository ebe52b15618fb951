"""``myrunstreak streak [--db URI] [--today YYYY-MM-DD] [--json]``: the current and longest streak.

Reads the database read-only. Module-level imports stay light (the CLI imports every subcommand module).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

from myrunstreak_pipeline.errors import MyRunStreakError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URI", default=None,
                        help="database: local path or s3://bucket/key.duckdb (default: MYRUNSTREAK_DB)")
    parser.add_argument("--today", metavar="YYYY-MM-DD", type=_date, default=None,
                        help="report as of this local date (default: today in MYRUNSTREAK_TIMEZONE, else local)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")


def open_database(uri: str):
    """A read-only DuckDB connection to ``uri``: a local path, or ``s3://bucket/key`` through the storage
    layer's reader (attached read-only over httpfs; endpoint from MYRUNSTREAK_S3_ENDPOINT_URL)."""
    if uri.startswith("s3://"):
        from myrunstreak_pipeline.duckdb_ops.s3_storage import open_read_only

        return open_read_only(uri)

    import duckdb

    path = Path(uri).expanduser()
    if not path.is_file():
        raise MyRunStreakError(
            f"database not found: {path}",
            hint="run `myrunstreak run` (or `myrunstreak demo`) first, or point --db / MYRUNSTREAK_DB at it",
        )
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise MyRunStreakError(
            f"cannot open database {path}: {error}",
            hint="is it a DuckDB file? If another process is writing it, try again when it has finished",
        ) from error


def _rule_overrides() -> tuple[float | None, str | None]:
    """Rule values set explicitly in the environment; unset ones come from the rule stored in the DB."""
    min_km_text = os.environ.get("MYRUNSTREAK_STREAK_MIN_KM") or None
    mode = (os.environ.get("MYRUNSTREAK_STREAK_MODE") or "").strip().lower() or None
    min_km = None
    if min_km_text is not None:
        try:
            min_km = float(min_km_text)
        except ValueError as error:
            raise MyRunStreakError(
                f"MYRUNSTREAK_STREAK_MIN_KM is not a number: {min_km_text!r}",
                hint="set MYRUNSTREAK_STREAK_MIN_KM to a distance in km, e.g. 1.609344 (one mile)",
            ) from error
    return min_km, mode


def command(args: argparse.Namespace) -> int:
    import duckdb

    from myrunstreak_pipeline.analytics.report import format_card, local_today, streak_card, streak_report
    from myrunstreak_pipeline.settings import DEFAULT_DB

    uri = args.db or os.environ.get("MYRUNSTREAK_DB") or DEFAULT_DB
    today = args.today or local_today(os.environ.get("MYRUNSTREAK_TIMEZONE") or None)
    min_km, mode = _rule_overrides()
    con = open_database(uri)
    try:
        if args.json:
            print(json.dumps(streak_report(con, today, min_km, mode)))
        else:
            print(format_card(streak_card(con, today, min_km, mode)))
    except duckdb.CatalogException as error:
        raise MyRunStreakError(
            f"{uri} has no streak views (not created or migrated by this version): {error}",
            hint="run `myrunstreak run` once to create and migrate it",
        ) from error
    finally:
        con.close()
    return 0
