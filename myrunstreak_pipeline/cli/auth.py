"""``myrunstreak auth``: authorize the app once (code flow, loopback redirect) and write the token file."""

from __future__ import annotations

import argparse

from myrunstreak_pipeline.cli.preflight import check_port_free, port_number, positive_seconds

REDIRECT_HOST = "127.0.0.1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-browser", action="store_true", help="only print the authorize URL")
    parser.add_argument(
        "--timeout", type=positive_seconds, default=300.0, help="seconds to wait for the redirect (300)"
    )
    parser.add_argument(
        "--port", type=port_number, default=0, help="loopback port for the redirect (default: a free one)"
    )
    parser.add_argument("--token-file", help="where to store the token (default: SMASHRUN_TOKEN_FILE)")


def command(args: argparse.Namespace) -> int:
    # Imported here so `myrunstreak <other command>` does not pay for requests-oauthlib.
    import webbrowser

    from myrunstreak_pipeline.errors import MyRunStreakError
    from myrunstreak_pipeline.settings import Settings
    from myrunstreak_pipeline.smashrun.code_flow import authorize
    from myrunstreak_pipeline.smashrun.oauth import TokenFile, quiet_secret_logging, require_secure_transport

    quiet_secret_logging()
    settings = Settings.from_env()
    if not (settings.client_id and settings.client_secret):
        raise MyRunStreakError(
            "`myrunstreak auth` needs SMASHRUN_CLIENT_ID and SMASHRUN_CLIENT_SECRET",
            hint="for a user-level token instead, set SMASHRUN_ACCESS_TOKEN and skip this step",
        )
    require_secure_transport(settings.auth_base)
    store = TokenFile(args.token_file or settings.token_file)
    # Checked before the flow starts: failing after the code was exchanged would waste the authorization.
    store.check_location("--token-file" if args.token_file else "SMASHRUN_TOKEN_FILE")
    check_port_free(REDIRECT_HOST, args.port, host_flag=None)

    def open_url(url: str) -> None:
        # The URL holds the client id and a random state, no secret.
        print(f"Open this URL to authorize myrunstreak:\n  {url}", flush=True)
        if not args.no_browser:
            webbrowser.open(url)

    token = authorize(
        settings.client_id,
        settings.client_secret,
        settings.auth_base,
        store,
        open_url=open_url,
        timeout=args.timeout,
        host=REDIRECT_HOST,
        port=args.port,
    )
    expires_at = token.get("expires_at")  # absent when the server sent no expires_in
    until = f" (expires at {expires_at:.0f})" if expires_at is not None else ""
    print(f"Authorized. Token stored in {store.path}{until}.")
    return 0
