"""``myrunstreak serve [--db URI] [--host 127.0.0.1] [--port 8000] [--workers N]``: the read-only query API and
the streak page (design.md §6) under uvicorn.

Checked before serving: the flags, the environment, the database (a readable DuckDB file, or an S3 object the
credentials may HEAD) and the port. With ``--workers`` above 1, uvicorn starts that many processes, each
importing ``myrunstreak_pipeline.api.app:app_from_env``; ``--db`` reaches them through ``MYRUNSTREAK_DB``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from myrunstreak_pipeline.cli.preflight import check_port_free, listen_error, port_number, whole_number
from myrunstreak_pipeline.errors import MyRunStreakError

MAX_WORKERS = 32
APP_FACTORY = "myrunstreak_pipeline.api.app:app_from_env"


worker_count = whole_number(1, MAX_WORKERS, f"a number of workers between 1 and {MAX_WORKERS}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URI",
        default=None,
        help="database: local path or s3://bucket/key.duckdb, opened read-only (default: MYRUNSTREAK_DB)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    parser.add_argument("--port", type=port_number, default=8000, help="port (default 8000; 0 = any free port)")
    parser.add_argument(
        "--workers", type=worker_count, default=1, help=f"worker processes (1-{MAX_WORKERS}, default 1)"
    )


def settings_overrides(args: argparse.Namespace | None) -> dict:
    """``--db`` wins over MYRUNSTREAK_DB (a bad MYRUNSTREAK_DB is then not the user's problem)."""
    return {"db": args.db} if args is not None and args.db else {}


def command(args: argparse.Namespace) -> int:
    import socket

    import uvicorn

    from myrunstreak_pipeline.cli.preflight import check_database
    from myrunstreak_pipeline.settings import Settings

    settings = Settings.from_env(**settings_overrides(args))
    source = "--db" if args.db else "MYRUNSTREAK_DB"
    check_database(settings.db, settings, source=source, write=False)
    if not settings.db.startswith("s3://") and not Path(settings.db).expanduser().is_file():
        raise MyRunStreakError(
            f"{source} {settings.db}: no database there (serve only reads; it never creates one)",
            hint=f"point {source} at the database `myrunstreak run` created",
        )
    check_port_free(args.host, args.port)
    # Bind here, so the address printed is the one served (``--port 0`` picks a free port) and a busy port is
    # one line; uvicorn serves on this socket (its workers inherit it).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
    except OSError as error:
        sock.close()
        raise listen_error(error, args.host, args.port) from None
    host, port = sock.getsockname()[:2]
    print(f"MyRunStreak API serving {_shown(settings.db)} read-only at http://{host}:{port}/", flush=True)
    print(f"  streak page http://{host}:{port}/ · API docs http://{host}:{port}/docs · Ctrl-C to stop", flush=True)
    if args.workers > 1:
        os.environ["MYRUNSTREAK_DB"] = _shown(settings.db)  # the workers read their settings from the environment
        config = uvicorn.Config(APP_FACTORY, factory=True, workers=args.workers, log_level="warning")
    else:
        from myrunstreak_pipeline.api.app import create_app

        config = uvicorn.Config(create_app(settings), log_level="warning")
    try:
        if args.workers > 1:
            from uvicorn.supervisors import Multiprocess

            sock.set_inheritable(True)
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


def _shown(database: str) -> str:
    return database if database.startswith("s3://") else os.path.abspath(os.path.expanduser(database))
