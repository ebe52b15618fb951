"""``myrunstreak demo``: sandbox → local DuckDB → the whole asset graph through Dagster → the streak card.

Starts the offline SmashRun sandbox in this process (127.0.0.1, a free port, a synthetic athlete), points
the environment at it, runs ``myrunstreak run --full`` into ``.myrunstreak/demo.duckdb`` and prints the
streak card and how to open the Dagster UI on the recorded runs.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from myrunstreak_pipeline.cli.preflight import synthetic_years

DEMO_DIR = Path(".myrunstreak")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--years", type=synthetic_years, default=10, help="years of synthetic history (default 10; 1-100)"
    )
    parser.add_argument("--seed", type=int, default=7, help="synthetic athlete seed (default 7)")
    parser.add_argument(
        "--db",
        default=str(DEMO_DIR / "demo.duckdb"),
        help="demo database: a local path or s3://bucket/key.duckdb (the bucket must exist)",
    )


def settings_overrides(args: argparse.Namespace) -> dict[str, str | None]:
    """The settings the demo points at its own sandbox and database (whatever the environment holds for them
    is ignored, so it is not checked either); placeholders until the sandbox is up."""
    from myrunstreak_pipeline.settings import DEFAULT_API_BASE, DEFAULT_AUTH_BASE, DEFAULT_DB

    return {
        "api_base": DEFAULT_API_BASE,
        "auth_base": DEFAULT_AUTH_BASE,
        "access_token": None,
        "db": DEFAULT_DB,
        "history_start": None,
    }


def command(args: argparse.Namespace) -> int:
    from myrunstreak_pipeline.cli.preflight import check_database, check_folder, is_s3_uri
    from myrunstreak_pipeline.settings import Settings

    # Before the sandbox is built: the environment, then the places the demo will write.
    given = Settings.from_env(**settings_overrides(args))
    db = args.db if is_s3_uri(args.db) else str(Path(args.db).expanduser().resolve())
    check_database(db, given, source="--db", write=True)
    check_folder(given.dagster_home, "DAGSTER_HOME")
    if given.calendar_dir:
        check_folder(given.calendar_dir, "MYRUNSTREAK_CALENDAR_DIR")

    from myrunstreak_pipeline.analytics import format_card, local_today, streak_card
    from myrunstreak_pipeline.cli.run import run_pipeline
    from myrunstreak_pipeline.duckdb_ops.s3 import open_read_only
    from myrunstreak_pipeline.sandbox import SandboxServer

    token = secrets.token_urlsafe(24)  # a throwaway token for this sandbox only; never printed
    with SandboxServer(years=args.years, seed=args.seed, token=token, rate_limit=0) as sandbox:
        first_year = min(a["startDateTimeLocal"][:4] for a in sandbox.athlete.activities)
        # The environment, not only the settings: the run's resources resolve the token from it (dg.EnvVar).
        os.environ.update(
            {
                "SMASHRUN_API_BASE": sandbox.api_base,
                "SMASHRUN_AUTH_BASE": sandbox.auth_base,
                "SMASHRUN_ACCESS_TOKEN": token,
                "MYRUNSTREAK_DB": db,
                "MYRUNSTREAK_HISTORY_START": f"{first_year}-01-01",
            }
        )
        for name in ("SMASHRUN_CLIENT_ID", "SMASHRUN_CLIENT_SECRET"):
            os.environ.pop(name, None)
        settings = Settings.from_env()
        print(
            f"sandbox: {len(sandbox.athlete.visible_activities):,} runs over {args.years} years at {sandbox.api_base}"
        )
        status = run_pipeline(settings, full=True, verbose=getattr(args, "verbose", False))
    if status != 0:
        return status
    connection = open_read_only(db, settings.s3_endpoint_url)  # an s3:// database is attached read-only (httpfs)
    try:
        print()
        print(format_card(streak_card(connection, local_today(settings.timezone))))
    finally:
        connection.close()
    home = Path(settings.dagster_home).expanduser().resolve()  # where run_pipeline recorded the run
    print()
    print("Open the Dagster UI on these runs (the sandbox has stopped, so new runs there need a real API or")
    print("`myrunstreak sandbox`):")
    endpoint = settings.s3_endpoint_url if is_s3_uri(db) else None
    s3_hint = f" MYRUNSTREAK_S3_ENDPOINT_URL={endpoint}" if endpoint else ""
    print(f"  DAGSTER_HOME={home} MYRUNSTREAK_DB={db}{s3_hint} MYRUNSTREAK_HISTORY_START={first_year}-01-01 \\")
    print("    .venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1")
    return 0
