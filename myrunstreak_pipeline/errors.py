"""User-facing errors: one clear line plus a hint, printed by the CLI without a traceback."""

from __future__ import annotations


class MyRunStreakError(Exception):
    """An error the user can act on (missing token, unreachable API, bad database path, ...).

    ``str(error)`` is the one-line message; ``hint`` says what to do about it. Neither may contain secrets.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint
