"""``myrunstreak import PATH… [--db URI] [--workers N] [--json]``: activity files into the database.

PATH: FIT, GPX or TCX files (also ``.gz``), folders, a Strava bulk-export zip (``activities.csv`` names each
run's file and sport), a Garmin Connect export zip, or an ``s3://bucket/prefix``. A progress bar on stderr,
then one summary: imported, already known, duplicates of SmashRun runs (counted once), quarantined with reasons.
Re-importing is a no-op. A file that cannot be read is quarantined; the rest still load (exit 0).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager

from myrunstreak_pipeline.cli.preflight import whole_number

MAX_REASONS_SHOWN = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, folders, export zips or s3://bucket/prefix")
    parser.add_argument(
        "--db",
        metavar="URI",
        default=None,
        help="database: local path or s3://bucket/key.duckdb (default: MYRUNSTREAK_DB)",
    )
    parser.add_argument(
        "--workers",
        metavar="N",
        type=whole_number(1, 64, "a number of processes from 1 to 64"),
        default=None,
        help="parser processes (default: one per core)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


class ProgressBar:
    """``[#####.....] 120/2000 files`` redrawn in place on a terminal; a line every 10 % otherwise."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream, self.width = stream, width
        self.tty = stream.isatty()
        self.last_tenth = -1
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        tenth = done * 10 // max(total, 1)
        if not self.tty and tenth == self.last_tenth and done != total:
            return
        self.last_tenth = tenth
        filled = self.width * done // max(total, 1)
        rate = done / max(time.monotonic() - self.started, 1e-9)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} files ({rate:.1f}/s)"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and done == total:
            self.stream.write("\n")
        self.stream.flush()


@contextmanager
def writable_database(uri: str, endpoint_url: str | None):
    """The database to import into: a local file, or an S3 object's working copy published once at the end."""
    from myrunstreak_pipeline.duckdb_ops import DuckDBManager
    from myrunstreak_pipeline.duckdb_ops.location import is_s3_uri

    if not is_s3_uri(uri):
        with DuckDBManager(uri) as manager:
            yield manager
        return
    from myrunstreak_pipeline.duckdb_ops.s3.common import make_s3_client
    from myrunstreak_pipeline.duckdb_ops.s3.publisher import single_attempt_writer
    from myrunstreak_pipeline.duckdb_ops.s3.run_cache import make_publisher

    with single_attempt_writer(make_publisher(make_s3_client(endpoint_url), uri, None, None)) as manager:
        yield manager


def command(args: argparse.Namespace) -> int:
    from myrunstreak_pipeline.analytics.rule import get_streak_rule, set_streak_rule_from_settings
    from myrunstreak_pipeline.cli.preflight import check_database
    from myrunstreak_pipeline.duckdb_ops import RunRepository
    from myrunstreak_pipeline.duckdb_ops.s3.common import make_s3_client
    from myrunstreak_pipeline.errors import MyRunStreakError
    from myrunstreak_pipeline.imports import discover, import_files
    from myrunstreak_pipeline.imports.discover import MISSING_HINT
    from myrunstreak_pipeline.settings import Settings
    from myrunstreak_pipeline.today import machine_zone_name

    settings = Settings.from_env()
    uri = args.db or settings.db
    check_database(uri, settings, source="--db" if args.db else "MYRUNSTREAK_DB")

    # every path is checked (a missing one is one line) before the database is opened
    items = list(discover(args.paths, s3_client_factory=lambda: make_s3_client(settings.s3_endpoint_url)))
    if not items:  # an empty folder or prefix: a mistyped path, not an import (and no database is created)
        raise MyRunStreakError(f"no activity files found in {', '.join(args.paths)}", hint=MISSING_HINT)
    with writable_database(uri, settings.s3_endpoint_url) as manager:
        repo = RunRepository(manager.connection)
        zone = settings.timezone or get_streak_rule(manager.connection).time_zone or machine_zone_name()
        # Like every writer, store the configured rule: the summary's "not counted" and the views then agree.
        set_streak_rule_from_settings(manager.connection, settings)
        summary = import_files(
            items,
            repo.store_activity_files,
            known=frozenset(repo.all_file_hashes()),
            default_zone=zone,
            counted_sports=settings.streak_sports_list,
            workers=args.workers,
            progress=ProgressBar() if items else None,
        )
    if args.json:
        print(json.dumps({**summary.as_dict(), "quarantine_reasons": [list(q) for q in summary.quarantined]}))
        return 0
    print(format_summary(summary))
    return 0


def format_summary(summary) -> str:
    lines = [
        f"{summary.files} files: {summary.imported} imported, {summary.known} already known, "
        f"{summary.duplicates_of_smashrun} duplicates of SmashRun runs (counted once), "
        f"{len(summary.quarantined)} quarantined"
    ]
    if summary.duplicates_of_files:
        lines.append(f"{summary.duplicates_of_files} imported files are the same run as another file (counted once)")
    if summary.not_counted:
        lines.append(f"{summary.not_counted} imported activities are of a sport that does not count for the streak")
    for name, reason in summary.quarantined[:MAX_REASONS_SHOWN]:
        lines.append(f"  quarantined {_printable(name)}: {reason}")
    if len(summary.quarantined) > MAX_REASONS_SHOWN:
        lines.append(
            f"  … and {len(summary.quarantined) - MAX_REASONS_SHOWN} more (table quarantine, payload_kind 'file')"
        )
    if summary.duplicates_of_smashrun or summary.duplicates_of_files:
        lines.append("see `myrunstreak runs --duplicates` for which record was kept and why")
    return "\n".join(lines)


def _printable(text: str) -> str:
    """A file name as it is safe to print: control characters (a zip member may be named with terminal escape
    sequences) shown escaped, never sent to the terminal."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
