"""``myrunstreak runs --duplicates [--json]``: runs recorded by two sources (a file and SmashRun, or two files),
which record counts and why; ``--split ID`` undoes a wrong merge (both records count, and the rule leaves the
pair alone from then on); ``--unsplit ID`` lets the rule decide again.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URI",
        default=None,
        help="database: local path or s3://bucket/key.duckdb (default: MYRUNSTREAK_DB)",
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--duplicates", action="store_true", help="list merged records and the splits")
    action.add_argument("--split", metavar="ACTIVITY_ID", help="split the merge(s) this record is part of")
    action.add_argument("--unsplit", metavar="ACTIVITY_ID", help="forget a split: the same-run rule decides again")
    parser.add_argument("--json", action="store_true", help="--duplicates: one JSON object")


def command(args: argparse.Namespace) -> int:
    from myrunstreak_pipeline.cli.preflight import check_database
    from myrunstreak_pipeline.duckdb_ops import RunRepository
    from myrunstreak_pipeline.settings import Settings

    settings = Settings.from_env()
    uri = args.db or settings.db
    source = "--db" if args.db else "MYRUNSTREAK_DB"
    if args.duplicates:
        from myrunstreak_pipeline.duckdb_ops.s3.reader import open_reader

        check_database(uri, settings, source=source, write=False)
        with open_reader(uri, settings.s3_endpoint_url) as reader:
            merged, splits = reader.read(
                lambda con: (RunRepository(con).list_duplicates(), RunRepository(con).list_splits())
            )
        print(json.dumps(_as_json(merged, splits)) if args.json else format_duplicates(merged, splits))
        return 0
    from myrunstreak_pipeline.cli.import_files import writable_database
    from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri
    from myrunstreak_pipeline.errors import MyRunStreakError

    check_database(uri, settings, source=source)
    if not is_s3_uri(uri) and not Path(uri).expanduser().exists():  # nothing to split: do not create a database
        raise MyRunStreakError(
            f"database not found: {uri}",
            hint=f"run `myrunstreak import` or `myrunstreak run` first, or point {source} at the database",
        )
    with writable_database(uri, settings.s3_endpoint_url) as manager:
        repo = RunRepository(manager.connection)
        if args.split:
            pairs = repo.split_duplicate(args.split.strip())
            verb = "split"
        else:
            pairs = repo.unsplit_duplicate(args.unsplit.strip())
            verb = "unsplit (the same-run rule decides again)"
    for first, second in pairs:
        print(f"{verb}: {first} and {second}")
    return 0


def _as_json(merged: list[dict], splits: list[tuple]) -> dict:
    def plain(value):
        return value.isoformat() if hasattr(value, "isoformat") else value

    return {
        "duplicates": [{key: plain(value) for key, value in row.items()} for row in merged],
        "splits": [{"activity_id": a, "other_activity_id": b, "split_at": plain(at)} for a, b, at in splits],
    }


def format_duplicates(merged: list[dict], splits: list[tuple]) -> str:
    if not merged and not splits:
        return "no run is recorded by two sources"
    lines = [f"{len(merged)} records not counted: the same run as another record"]
    for row in merged:
        lines.append(
            f"  {row['start_local']:%Y-%m-%d %H:%M}  {row['activity_id']} ({row['source']}, {row['km']:.2f} km)"
            f"  ->  kept {row['kept_activity_id']} ({row['kept_source']}, {row['kept_km']:.2f} km)"
        )
        lines.append(f"      {row['reason']}")
    if splits:
        lines.append(f"{len(splits)} pairs split by hand (counted separately):")
        lines.extend(f"  {a} and {b} (split {at:%Y-%m-%d %H:%M} UTC)" for a, b, at in splits)
    lines.append("undo a wrong merge with `myrunstreak runs --split ACTIVITY_ID`")
    return "\n".join(lines)
