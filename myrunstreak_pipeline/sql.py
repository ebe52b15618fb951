"""Access to the project's SQL files (``sql/`` beside the package; SQL lives in .sql files, not strings)."""

from __future__ import annotations

from functools import cache
from pathlib import Path


def _sql_dir() -> Path:
    """sql/ beside the package (a checkout or editable install), else the copy a wheel carries as
    ``myrunstreak_pipeline/sql_files`` (see pyproject.toml)."""
    checkout = Path(__file__).resolve().parent.parent / "sql"
    if (checkout / "migrations").is_dir():
        return checkout
    return Path(__file__).resolve().parent / "sql_files"


SQL_DIR = _sql_dir()


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
