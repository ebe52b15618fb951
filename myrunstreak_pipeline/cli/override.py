"""``myrunstreak override add DATE --km X --reason TEXT`` / ``override remove DATE [--reason TEXT]`` /
``override list [--json]``: a day that counts with a distance no source recorded (a lost watch file, a race
without a device), kept in its own table with who, when and why; every change is in the audit trail.

The database is a local path or ``s3://bucket/key.duckdb`` (``--db``, else MYRUNSTREAK_DB). Module-level imports
stay light (the CLI imports every subcommand module).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path


def day_argument(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def _km(text: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a number of km: {text!r}") from error
    if not math.isfinite(value) or not 0 < value <= 2000:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 2,000 km, got {text!r}")
    return value


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URI",
        default=None,
        help="database: local path or s3://bucket/key.duckdb (default: MYRUNSTREAK_DB)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="{add,remove,list}")
    add = actions.add_parser("add", help="a day counts with this distance (replaces the day's override)")
    add.add_argument("date", type=day_argument, metavar="DATE", help="the local date (YYYY-MM-DD), not after today")
    add.add_argument("--km", type=_km, required=True, help="the distance run that day, km (more than 0)")
    add.add_argument("--reason", required=True, help="why no source has the run (up to 500 characters)")
    add_db_argument(add)
    remove = actions.add_parser("remove", help="forget the override of a day (kept in the audit trail)")
    remove.add_argument("date", type=day_argument, metavar="DATE", help="the local date (YYYY-MM-DD)")
    remove.add_argument("--reason", default=None, help="why it is removed")
    add_db_argument(remove)
    show = actions.add_parser("list", help="the current overrides and the audit trail")
    show.add_argument("--json", action="store_true", help="one JSON object: overrides and audit")
    add_db_argument(show)


def check_existing(args: argparse.Namespace, settings) -> None:
    """The database can be written (checked before any work); a missing local file is refused (an override or a
    travel day belongs to a database with runs)."""
    from myrunstreak_pipeline.cli.preflight import check_database
    from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri
    from myrunstreak_pipeline.errors import MyRunStreakError

    uri = args.db or settings.db
    source = "--db" if args.db else "MYRUNSTREAK_DB"
    check_database(uri, settings, source=source)
    if not is_s3_uri(uri) and not Path(uri).expanduser().exists():
        raise MyRunStreakError(
            f"{source}: database not found: {uri}",
            hint=f"run `myrunstreak import` or `myrunstreak run` first, or point {source} at the database",
        )


def writable(args: argparse.Namespace, settings):
    """The database opened for writing (local file, or an S3 object's working copy published at the end)."""
    from myrunstreak_pipeline.cli.import_files import writable_database

    return writable_database(args.db or settings.db, settings.s3_endpoint_url)


def runner_today(args: argparse.Namespace, settings) -> dt.date:
    """Today in MYRUNSTREAK_TIMEZONE, else in the zone stored with the rule (read before anything is written)."""
    import duckdb

    from myrunstreak_pipeline.analytics.rule import get_streak_rule
    from myrunstreak_pipeline.today import local_today

    def stored_zone(con) -> str | None:
        try:
            return get_streak_rule(con).time_zone
        except duckdb.Error:  # not migrated yet: no stored zone
            return None

    return local_today(settings.timezone or read_database(args, settings, stored_zone))


def read_database(args: argparse.Namespace, settings, fn):
    """``fn(con)`` on one read-only version of the database (local or S3)."""
    import duckdb

    from myrunstreak_pipeline.cli.preflight import check_database
    from myrunstreak_pipeline.duckdb_ops.s3.reader import open_reader
    from myrunstreak_pipeline.errors import MyRunStreakError

    uri = args.db or settings.db
    check_database(uri, settings, source="--db" if args.db else "MYRUNSTREAK_DB", write=False)
    try:
        with open_reader(uri, settings.s3_endpoint_url) as reader:
            return reader.read(fn)
    except duckdb.CatalogException as error:
        raise MyRunStreakError(
            f"{uri} has no override tables (not migrated by this version)",
            hint="run `myrunstreak run` or `myrunstreak import` once to migrate it",
        ) from error


def command(args: argparse.Namespace) -> int:
    from myrunstreak_pipeline.analytics import overrides
    from myrunstreak_pipeline.settings import Settings

    settings = Settings.from_env()
    if args.action == "list":
        current, audit = read_database(
            args, settings, lambda con: (overrides.list_overrides(con), overrides.list_override_audit(con))
        )
        print(json.dumps(as_json(current, audit)) if args.json else format_overrides(current, audit))
        return 0
    who = overrides.who_is(settings.runner_name)
    # every value is checked before the database is opened for writing: a refusal changes nothing
    overrides.check_reason(args.reason, required=args.action == "add")
    if args.action == "add" and settings.timezone:  # today is known without the database
        overrides.check_not_future(args.date, runner_today(args, settings))
    check_existing(args, settings)
    if args.action == "add":
        today = runner_today(args, settings)
        overrides.check_not_future(args.date, today)
    elif read_database(args, settings, lambda con: overrides.get_override(con, args.date)) is None:
        overrides.raise_no_override(args.date)
    with writable(args, settings) as manager:
        con = manager.connection
        if args.action == "add":
            action = overrides.add_override(con, args.date, args.km, args.reason, who=who, today=today)
            print(f"override {'added' if action == 'add' else 'replaced'}: {args.date} counts with {args.km:g} km")
        else:
            removed = overrides.remove_override(con, args.date, args.reason, who=who)
            print(f"override removed: {args.date} ({removed['km']:g} km, {removed['reason']})")
    return 0


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def as_json(current: list[dict], audit: list[dict]) -> dict:
    return {
        "overrides": [{key: _plain(value) for key, value in row.items()} for row in current],
        "audit": [{key: _plain(value) for key, value in row.items()} for row in audit],
    }


def format_overrides(current: list[dict], audit: list[dict]) -> str:
    lines = [f"{len(current)} day{'' if len(current) == 1 else 's'} with an override"]
    lines += [
        f"  {row['day']}  {row['km']:g} km  {row['reason']}  "
        f"(by {row['added_by']}, {row['added_at']:%Y-%m-%d %H:%M} UTC)"
        for row in current
    ]
    lines.append(f"audit trail: {len(audit)} change{'' if len(audit) == 1 else 's'}")
    lines += [
        f"  {row['done_at']:%Y-%m-%d %H:%M} UTC  {row['action']:<7} {row['day']}  "
        f"{'' if row['km'] is None else format(row['km'], 'g') + ' km  '}{row['reason']}  (by {row['done_by']})"
        for row in audit
    ]
    return "\n".join(lines)
