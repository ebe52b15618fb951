"""``myrunstreak travel set DATE --zone IANA --side departure|arrival [--reason TEXT]`` / ``travel remove DATE`` /
``travel list [--json]``: date-line days by the Washburne rule (streak-rules §1.3). On a travel day the runs count
by the calendar of the zone the runner left (departure) or entered (arrival), whatever their own local date.

The database is a local path or ``s3://bucket/key.duckdb`` (``--db``, else MYRUNSTREAK_DB).
"""

from __future__ import annotations

import argparse
import json

from myrunstreak_pipeline.cli.override import add_db_argument, day_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="{set,remove,list}")
    travel = actions.add_parser("set", help="runs on DATE count by the calendar of ZONE (replaces the day's)")
    travel.add_argument("date", type=day_argument, metavar="DATE", help="the travel day (YYYY-MM-DD)")
    travel.add_argument("--zone", required=True, help="IANA zone, e.g. Pacific/Auckland")
    travel.add_argument(
        "--side", required=True, choices=("departure", "arrival"), help="the zone left or the zone entered"
    )
    travel.add_argument("--reason", default=None, help="e.g. the flight (up to 500 characters)")
    add_db_argument(travel)
    remove = actions.add_parser("remove", help="forget a travel day: its runs count by the day policy again")
    remove.add_argument("date", type=day_argument, metavar="DATE", help="the travel day (YYYY-MM-DD)")
    add_db_argument(remove)
    show = actions.add_parser("list", help="every travel day")
    show.add_argument("--json", action="store_true", help="one JSON object")
    add_db_argument(show)


def command(args: argparse.Namespace) -> int:
    from myrunstreak_pipeline.analytics import overrides
    from myrunstreak_pipeline.cli.override import check_existing, read_database, writable
    from myrunstreak_pipeline.settings import Settings

    settings = Settings.from_env()
    if args.action == "list":
        days = read_database(args, settings, overrides.list_travel_days)
        print(json.dumps(as_json(days)) if args.json else format_travel_days(days))
        return 0
    if args.action == "set":  # every value is checked before the database is opened for writing
        overrides.check_zone(args.zone)
        overrides.check_reason(args.reason, required=False)
    check_existing(args, settings)
    if (
        args.action == "remove"
        and read_database(args, settings, lambda con: overrides.get_travel_day(con, args.date)) is None
    ):
        overrides.raise_no_travel_day(args.date)
    who = overrides.who_is(settings.runner_name)
    with writable(args, settings) as manager:
        con = manager.connection
        if args.action == "set":
            done = overrides.set_travel_day(con, args.date, args.zone, args.side, args.reason, who=who)
            print(
                f"travel day {'set' if done == 'set' else 'replaced'}: runs starting on {args.date} in "
                f"{args.zone} ({args.side} zone) count for {args.date}"
            )
        else:
            removed = overrides.remove_travel_day(con, args.date)
            print(f"travel day removed: {args.date} ({removed['side']} zone {removed['zone']})")
    return 0


def as_json(days: list[dict]) -> dict:
    return {
        "travel_days": [
            {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row.items()}
            for row in days
        ]
    }


def format_travel_days(days: list[dict]) -> str:
    if not days:
        return "no travel days (every run counts by the day policy)"
    lines = [f"{len(days)} travel day{'' if len(days) == 1 else 's'}"]
    lines += [
        f"  {row['day']}  {row['side']} zone {row['zone']}"
        f"{'  ' + row['reason'] if row['reason'] else ''}  (by {row['set_by']}, {row['set_at']:%Y-%m-%d %H:%M} UTC)"
        for row in days
    ]
    return "\n".join(lines)
