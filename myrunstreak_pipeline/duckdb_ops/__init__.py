"""DuckDB storage: the connection manager and migrations (local files; ``s3/`` publishes and reads S3 objects), the
repository (bulk writes and reads), with payload validation and Arrow staging in their own modules."""

from __future__ import annotations

from myrunstreak_pipeline.duckdb_ops.file_store import FailedFile, FileImportResult, FileRecord
from myrunstreak_pipeline.duckdb_ops.manager import DuckDBManager, load_httpfs
from myrunstreak_pipeline.duckdb_ops.migrations import migrate
from myrunstreak_pipeline.duckdb_ops.repository import RunRepository, UpsertResult
from myrunstreak_pipeline.duckdb_ops.staging import StagedBatch, stage_activities
from myrunstreak_pipeline.duckdb_ops.transactions import transaction

__all__ = [
    "DuckDBManager",
    "FailedFile",
    "FileImportResult",
    "FileRecord",
    "RunRepository",
    "StagedBatch",
    "UpsertResult",
    "load_httpfs",
    "migrate",
    "stage_activities",
    "transaction",
]
