"""DuckDB storage: the connection manager (local files; S3 goes through the storage layer) and the repository."""

from myrunstreak_pipeline.duckdb_ops.manager import DuckDBManager, load_httpfs
from myrunstreak_pipeline.duckdb_ops.migrations import migrate
from myrunstreak_pipeline.duckdb_ops.repository import RunRepository, StagedBatch, UpsertResult, stage_activities
from myrunstreak_pipeline.duckdb_ops.transactions import transaction

__all__ = [
    "DuckDBManager",
    "RunRepository",
    "StagedBatch",
    "UpsertResult",
    "load_httpfs",
    "migrate",
    "stage_activities",
    "transaction",
]
