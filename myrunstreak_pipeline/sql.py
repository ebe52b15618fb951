"""Access to the project's SQL files (``sql/`` beside the package; SQL lives in .sql files, not strings)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

# sql/ sits beside the package in a checkout or editable install; MYRUNSTREAK_SQL_DIR overrides it for
# unusual installs.
SQL_DIR = Path(os.environ.get("MYRUNSTREAK_SQL_DIR") or Path(__file__).resolve().parent.parent / "sql")


@cache
def load_sql(relative_path: str) -> str:
    """Text of ``sql/<relative_path>`` (e.g. ``"queries/current_streak.sql"``)."""
    path = SQL_DIR / relative_path
    if not path.is_file():
        raise FileNotFoundError(f"SQL file not found: {path}")
    return path.read_text(encoding="utf-8")


def sql_files(folder: str) -> list[Path]:
    """The ``.sql`` files of ``sql/<folder>``, sorted by name (the order they must be applied in)."""
    return sorted((SQL_DIR / folder).glob("*.sql"))
