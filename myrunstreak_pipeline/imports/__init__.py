"""Importing activity files (the second source): find them (``discover``: files, folders, Strava and Garmin
export zips, an ``s3://`` prefix), parse them in a process pool and store them through ``RunRepository``
(``import_files``). Plain Python: the CLI's ``myrunstreak import`` and the Dagster ``activity_files`` asset are
thin shells over it."""

from __future__ import annotations

from myrunstreak_pipeline.imports.discover import FileToImport, discover, listing_fingerprint
from myrunstreak_pipeline.imports.importer import ImportSummary, file_record, import_files, parse_item

__all__ = [
    "FileToImport",
    "ImportSummary",
    "discover",
    "file_record",
    "import_files",
    "listing_fingerprint",
    "parse_item",
]
