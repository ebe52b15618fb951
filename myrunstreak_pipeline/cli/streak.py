"""``myrunstreak streak [--db URI] [--today YYYY-MM-DD] [--json] [--calendar FILE]``: the current and longest
streak; ``--calendar`` also writes the streak calendar heatmap (``analytics/calendar.py``) as PNG or SVG.
``--record [--format csv|json|md]``: the streak record instead (``analytics/record.py``): every day of the streak
current on ``--today`` with its runs, the rule, the zone used and any override, and the registry summary.

Reads the database read-only. Module-level imports stay light (the CLI imports every subcommand module).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from myrunstreak_pipeline.cli.preflight import whole_number
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
        help="report as of this local date (default: today in MYRUNSTREAK_TIMEZONE, else the stored zone)",
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
        type=whole_number(1, None, "a positive number of years"),
        default=None,
        help="calendar: the last N years with runs (default 10)",
    )
    years.add_argument("--all-years", action="store_true", help="calendar: every year with runs (a tall picture)")
    parser.add_argument(
        "--record",
        action="store_true",
        help="print the streak record: every day of the current streak (as of --today) with its runs, rule, zone "
        "and overrides, and the registry summary (MYRUNSTREAK_RUNNER_NAME, MYRUNSTREAK_RUNNER_LOCATION)",
    )
    parser.add_argument(
        "--format", choices=("csv", "json", "md"), default=None, help="--record: csv, json or md (default md)"
    )


def _check_record_flags(args: argparse.Namespace) -> None:
    if args.format and not args.record:
        raise MyRunStreakError("--format only applies to --record", hint="add --record, or drop --format")
    if args.record and (args.json or args.calendar or args.calendar_years or args.all_years):
        raise MyRunStreakError(
            "--record prints the record alone: --json and the calendar flags do not go with it",
            hint="use --record --format json for the record as JSON; draw the calendar in a separate run",
        )


def _calendar_file(text: str) -> Path:
    from myrunstreak_pipeline.cli.preflight import check_creatable

    path = Path(text).expanduser()
    if path.suffix.lower() not in (".png", ".svg"):  # checked before any work: the card is not printed in vain
        raise argparse.ArgumentTypeError(f"the calendar file must end in .png or .svg: {text!r}")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"the calendar file is a folder: {text!r}")
    try:  # the picture can be written there (its folder exists or can be created)
        check_creatable(path, "--calendar", "the file", "")
    except MyRunStreakError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix("--calendar: ")) from None
    return path


def open_database(uri: str, s3_endpoint_url: str | None = None):
    """A read-only DuckDB connection to ``uri`` (a local path or ``s3://bucket/key``), from the storage layer's
    reader: the same checks and one-line errors as every other reader. ``command`` reads through
    ``open_reader(...).read(fn)`` instead, so each answer comes from one whole version of an S3 object."""
    from myrunstreak_pipeline.duckdb_ops.s3.reader import open_read_only

    return open_read_only(uri, s3_endpoint_url)


def command(args: argparse.Namespace) -> int:
    import duckdb

    from myrunstreak_pipeline.analytics.report import format_card, local_today, streak_card, streak_report
    from myrunstreak_pipeline.analytics.rule import get_streak_rule
    from myrunstreak_pipeline.duckdb_ops.s3.reader import open_reader
    from myrunstreak_pipeline.settings import Settings

    _check_record_flags(args)
    settings = Settings.from_env()
    uri = args.db or settings.db

    def runner_today(con):
        # --today, else today in MYRUNSTREAK_TIMEZONE, else in the zone the writer stored with the rule
        zone = settings.timezone or get_streak_rule(con).time_zone
        return args.today or local_today(zone)

    # A rule set explicitly in the environment wins; otherwise the rule stored in the database applies.
    min_km = settings.streak_min_km if settings.is_set("streak_min_km") else None
    mode = settings.streak_mode if settings.is_set("streak_mode") else None
    from myrunstreak_pipeline.cli.preflight import check_database

    check_database(uri, settings, source="--db" if args.db else "MYRUNSTREAK_DB", write=False)  # before any work

    def card(con) -> str:
        today = runner_today(con)
        if args.record:
            return _record(con, args, settings, today, min_km, mode)
        if args.json:
            return json.dumps(streak_report(con, today, min_km, mode))
        return format_card(streak_card(con, today, min_km, mode))

    # Each read sees one whole version of an S3 object (pinned, or retried when a writer published meanwhile).
    try:
        with open_reader(uri, settings.s3_endpoint_url) as reader:
            print(reader.read(card))
            if args.calendar:
                print(reader.read(lambda con: _write_calendar(con, args, runner_today(con))), file=sys.stderr)
    except duckdb.CatalogException as error:
        raise MyRunStreakError(
            f"{uri} has no streak views (not created or migrated by this version): {error}",
            hint="run `myrunstreak run` once to create and migrate it",
        ) from error
    return 0


def _record(con, args: argparse.Namespace, settings, today, min_km, mode) -> str:
    """The streak record in the chosen format; for a broken streak the csv and json forms stay valid (no days) and
    the message goes to stderr."""
    from myrunstreak_pipeline.analytics import record as streak_record

    record = streak_record.streak_record(
        con,
        today,
        runner_name=settings.runner_name,
        runner_location=settings.runner_location,
        min_km=min_km,
        mode=mode,
    )
    form = args.format or "md"
    if form != "md" and record["summary"]["status"] == "broken":
        print(streak_record.no_streak_text(record), file=sys.stderr)
    if form == "csv":
        return streak_record.record_csv(record)
    if form == "json":
        return streak_record.record_json(record)
    return streak_record.record_markdown(record)


def _write_calendar(con, args: argparse.Namespace, today) -> str:
    """Write the calendar file; the line to report it (on stderr: stdout stays the card or --json alone)."""
    from myrunstreak_pipeline.analytics.calendar import DEFAULT_YEARS, write_calendar

    years = None if args.all_years else (args.calendar_years or DEFAULT_YEARS)
    drawing = write_calendar(con, args.calendar, years=years, through=today)  # the card's --today, too
    grid = drawing.grid
    return (
        f"calendar {grid.years[-1]}..{grid.years[0]} written to {drawing.path} "
        f"({drawing.width_px}x{drawing.height_px} px)"
    )
