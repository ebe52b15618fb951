"""Which SmashRun credentials to use: a user-level token, or the app's client id/secret plus its token file."""

from __future__ import annotations

import os

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline.smashrun.oauth import AppToken, TokenFile, UserToken


def build_credentials(
    *,
    access_token: str | None,
    client_id: str | None,
    client_secret: str | None,
    token_file: str | os.PathLike[str],
    auth_base: str,
) -> UserToken | AppToken:
    """A user-level ``access_token`` wins when set; otherwise client id/secret + the token file."""
    if access_token:
        return UserToken(access_token)
    if client_id and client_secret:
        return AppToken(client_id, client_secret, TokenFile(token_file), auth_base)
    raise MyRunStreakError(
        "no SmashRun credentials configured",
        hint="set SMASHRUN_ACCESS_TOKEN (a user-level token), or SMASHRUN_CLIENT_ID + SMASHRUN_CLIENT_SECRET "
        "and run `myrunstreak auth` to create SMASHRUN_TOKEN_FILE",
    )


def credentials_from_settings(settings: Settings) -> UserToken | AppToken:
    """SMASHRUN_ACCESS_TOKEN wins when set; otherwise SMASHRUN_CLIENT_ID/SECRET + SMASHRUN_TOKEN_FILE."""
    return build_credentials(
        access_token=settings.access_token,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        token_file=settings.token_file,
        auth_base=settings.auth_base,
    )
