"""``myrunstreak streak [--db URI] [--today YYYY-MM-DD] [--json] [--calendar FILE]``: the current and longest
streak; ``--calendar`` also writes the streak calendar heatmap (``analytics/calendar.py``) as PNG or SVG.

Reads the database read-only. Module-level imports stay light (the CLI imports every subcommand module).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from myrunstreak_pipeline.errors import MyRunStreakError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URI",
        default=None,
        help="database: local path or s3://bucket/key.duckdb (default: MYRUNSTREAK_DB)",
    )
    parser.add_argument(
        "--today",
        metavar="YYYY-MM-DD",
        type=_date,
        default=None,
        help="report as of this local date (default: today in MYRUNSTREAK_TIMEZONE, else local)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument(
        "--calendar",
        metavar="FILE",
        type=_calendar_file,
        default=None,
        help="also write the streak calendar heatmap to FILE (.png or .svg)",
    )
    years = parser.add_mutually_exclusive_group()
    years.add_argument(
        "--calendar-years",
        metavar="N",
        type=_positive_int,
        default=None,
        help="calendar: the last N years with runs (default 10)",
    )
    years.add_argument("--all-years", action="store_true", help="calendar: every year with runs (a tall picture)")


def _calendar_file(text: str) -> Path:
    path = Path(text).expanduser()
    if path.suffix.lower() not in (".png", ".svg"):  # checked before any work: the card is not printed in vain
        raise argparse.ArgumentTypeError(f"the calendar file must end in .png or .svg: {text!r}")
    return path


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive number of years: {text!r}")
    return value


def open_database(uri: str, s3_endpoint_url: str | None = None):
    """A read-only DuckDB connection to ``uri``: a local path, or ``s3://bucket/key`` through the storage
    layer's reader (attached read-only over httpfs; ``s3_endpoint_url`` for S3-compatible stores)."""
    from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri

    if is_s3_uri(uri):
        from myrunstreak_pipeline.duckdb_ops.s3 import open_read_only

        return open_read_only(uri, s3_endpoint_url)

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


def command(args: argparse.Namespace) -> int:
    import duckdb

    from myrunstreak_pipeline.analytics.report import format_card, local_today, streak_card, streak_report
    from myrunstreak_pipeline.settings import Settings

    settings = Settings.from_env()
    uri = args.db or settings.db
    today = args.today or local_today(settings.timezone)
    # A rule set explicitly in the environment wins; otherwise the rule stored in the database applies.
    min_km = settings.streak_min_km if settings.is_set("streak_min_km") else None
    mode = settings.streak_mode if settings.is_set("streak_mode") else None
    con = open_database(uri, settings.s3_endpoint_url)
    try:
        if args.json:
            print(json.dumps(streak_report(con, today, min_km, mode)))
        else:
            print(format_card(streak_card(con, today, min_km, mode)))
        if args.calendar:
            _write_calendar(con, args, today)
    except duckdb.CatalogException as error:
        raise MyRunStreakError(
            f"{uri} has no streak views (not created or migrated by this version): {error}",
            hint="run `myrunstreak run` once to create and migrate it",
        ) from error
    finally:
        con.close()
    return 0


def _write_calendar(con, args: argparse.Namespace, today) -> None:
    import sys

    from myrunstreak_pipeline.analytics.calendar import DEFAULT_YEARS, write_calendar

    years = None if args.all_years else (args.calendar_years or DEFAULT_YEARS)
    drawing = write_calendar(con, args.calendar, years=years, through=today)  # the card's --today, too
    grid = drawing.grid
    # stderr: stdout stays the card (or the --json object) alone
    print(
        f"calendar {grid.years[-1]}..{grid.years[0]} written to {drawing.path} "
        f"({drawing.width_px}x{drawing.height_px} px)",
        file=sys.stderr,
    )
