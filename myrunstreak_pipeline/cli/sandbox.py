"""``myrunstreak sandbox``: serve the offline SmashRun (API + OAuth on one port) until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

from myrunstreak_pipeline.cli.preflight import (
    check_port_free,
    listen_error,
    non_negative_int,
    port_number,
    synthetic_years,
)
from myrunstreak_pipeline.errors import MyRunStreakError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    parser.add_argument("--port", type=port_number, default=8765, help="port (0 = any free port)")
    parser.add_argument("--data", metavar="FILE.json", help="JSON array of full SmashRun activity objects")
    parser.add_argument(
        "--years", type=synthetic_years, default=3, help="years of synthetic history (without --data; 1-100)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic athlete")
    parser.add_argument("--token", default="sandbox-token", help="pre-registered access token")
    parser.add_argument(
        "--rate-limit", type=non_negative_int, default=250, help="requests per token per hour (0 = off)"
    )
    parser.add_argument("--client-id", help="register an OAuth app with this id (needs --client-secret)")
    parser.add_argument("--client-secret", help="secret of the --client-id app")


DATA_HINT = "--data takes a JSON array of SmashRun activity objects (or leave it out for a synthetic athlete)"


def load_activities(path: str) -> list[dict]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MyRunStreakError(f"--data file not found: {path}", hint=DATA_HINT) from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = getattr(error, "strerror", None) or (str(error).splitlines() or [type(error).__name__])[0]
        raise MyRunStreakError(f"--data file {path} is not readable JSON: {reason}", hint=DATA_HINT) from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise MyRunStreakError(f"--data file {path} is not a JSON array of objects", hint=DATA_HINT)
    return data


def command(args: argparse.Namespace) -> int:
    from myrunstreak_pipeline.settings import Settings

    Settings.from_env()  # the environment first, like every command (the sandbox itself needs none of it)
    if bool(args.client_id) != bool(args.client_secret):
        raise MyRunStreakError(
            "--client-id and --client-secret go together", hint="give both to register an OAuth app, or neither"
        )
    check_port_free(args.host, args.port)  # before building the athlete: a busy port is reported at once
    activities = load_activities(args.data) if args.data else None
    from myrunstreak_pipeline.sandbox import SandboxServer  # keep `myrunstreak --help` light

    try:
        server = SandboxServer(
            activities=activities,
            years=args.years,
            seed=args.seed,
            token=args.token,
            rate_limit=args.rate_limit or None,
            host=args.host,
            port=args.port,
        )
    except (ValueError, TypeError, KeyError) as error:
        source = f"--data file {args.data}" if args.data else f"--years {args.years} / --seed {args.seed}"
        raise MyRunStreakError(
            f"cannot build the sandbox athlete from {source}: {error}",
            hint=DATA_HINT if args.data else "use fewer --years",
        ) from None
    if args.client_id:
        server.register_client(args.client_id, args.client_secret)
    try:
        server.start()
    except OSError as error:  # taken since the check above
        raise listen_error(error, args.host, args.port) from None
    try:
        print(f"SmashRun sandbox serving {len(server.athlete)} activities at {server.base_url}")
        print("export the following to point myrunstreak at it:")
        print(f"  export SMASHRUN_API_BASE={server.api_base}")
        print(f"  export SMASHRUN_AUTH_BASE={server.auth_base}")
        if args.token:
            print(f"  export SMASHRUN_ACCESS_TOKEN={args.token}")
        if args.client_id:
            print(f"  export SMASHRUN_CLIENT_ID={args.client_id}")
            print("  export SMASHRUN_CLIENT_SECRET=<the --client-secret you passed>")
        print("Ctrl-C to stop.", flush=True)
        threading.Event().wait()  # until KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
