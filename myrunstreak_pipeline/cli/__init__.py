"""The ``myrunstreak`` command: a thin dispatcher; each subcommand lives with the room it belongs to.

Every subcommand module exposes ``add_arguments(parser)`` and ``command(args) -> int``. They are imported
lazily so ``myrunstreak streak`` does not pay for importing Dagster. Before any command runs, its flags are
parsed (a bad one is refused) and the environment is read and validated (``Settings.from_env()``), so user
errors end in one ``error:`` line plus a ``hint:`` line and exit status 2, before any work.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from myrunstreak_pipeline.errors import MyRunStreakError

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("myrunstreak_pipeline.cli.sandbox", "serve the offline SmashRun sandbox API"),
    "auth": ("myrunstreak_pipeline.cli.auth", "OAuth2 authorization-code flow; stores the token file"),
    "streak": ("myrunstreak_pipeline.cli.streak", "report the current and longest streak"),
    "run": ("myrunstreak_pipeline.cli.run", "materialize the asset graph through Dagster"),
    "demo": ("myrunstreak_pipeline.cli.demo", "sandbox -> local DuckDB -> all assets, then the streak card"),
    "serve": ("myrunstreak_pipeline.cli.serve", "serve the read-only query API and the streak page"),
    "import": ("myrunstreak_pipeline.cli.import_files", "import FIT/GPX/TCX files, folders and export zips"),
    "runs": ("myrunstreak_pipeline.cli.runs", "list runs recorded by two sources (--duplicates), split a merge"),
    "override": ("myrunstreak_pipeline.cli.override", "a day that counts without a recorded run (audited)"),
    "travel": ("myrunstreak_pipeline.cli.travel", "date-line travel days: count by the departure or arrival zone"),
}


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a bad flag reported like every other user error: one ``error:`` line, one ``hint:`` line,
    exit status 2 (argparse's usage block would bury the line that matters)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {message}\nhint: see `{self.prog} --help` for the options and their ranges\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="myrunstreak", description="Run-streak pipeline for SmashRun runners.")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(module_name)
        module.add_arguments(sub_parser)
        sub_parser.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # These libraries log request details (URLs with tokens, bodies) at DEBUG/INFO: keep them quiet.
    for noisy in ("requests_oauthlib", "oauthlib", "urllib3", "botocore", "boto3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        from myrunstreak_pipeline.settings import Settings

        # Every command: a bad environment is one line before any network or disk work. A command that sets some
        # variables itself (demo) names them in ``settings_overrides(args)``: those are not the user's to get wrong.
        overrides = getattr(args._module, "settings_overrides", None)
        Settings.from_env(**(overrides(args) if overrides else {}))
        return int(args._module.command(args) or 0)
    except MyRunStreakError as error:
        print(f"error: {error}", file=sys.stderr)
        if error.hint:
            print(f"hint: {error.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
