"""Activity files as a second source: FIT, GPX and TCX (also gzip-compressed) read into one normalised shape.

Plain Python (no Dagster, no database): ``read_activity_file`` turns one file into a ``FileActivity`` or raises
``ActivityFileError`` with a reason that names the problem (never the file's contents), so a caller can
quarantine that file and load the rest. ``FileActivity.to_payload()`` is a SmashRun-shaped activity dict that
validates with ``myrunstreak_pipeline.models.Activity``.
"""

from __future__ import annotations

from myrunstreak_pipeline.files.normalise import (
    COUNTED_BY_DEFAULT,
    NEVER_COUNTED,
    PAUSE_GAP_SECONDS,
    ActivityFileError,
    FileActivity,
    Session,
    normalise_sport,
)
from myrunstreak_pipeline.files.reader import SUPPORTED_SUFFIXES, content_digest, read_activity_file

__all__ = [
    "COUNTED_BY_DEFAULT",
    "NEVER_COUNTED",
    "PAUSE_GAP_SECONDS",
    "SUPPORTED_SUFFIXES",
    "ActivityFileError",
    "FileActivity",
    "Session",
    "content_digest",
    "normalise_sport",
    "read_activity_file",
]
