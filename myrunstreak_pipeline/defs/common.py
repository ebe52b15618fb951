"""Shared pieces of the Dagster shells: names, metadata builders and the SQL-file checks."""

from __future__ import annotations

import logging
from typing import Any

import dagster as dg

from myrunstreak_pipeline.sql import load_sql

POOL = "duckdb"  # every DuckDB-writing step: one writer at a time (dagster.yaml limits pools to 1)
OWNERS = ["team:myrunstreak"]
INGEST_GROUP = "ingest"
ANALYTICS_GROUP = "analytics"
UPDATED_SINCE_TAG = "myrunstreak/updated_since"  # set by `myrunstreak run`: the run covers every change up to it
PROGRESS_LOGGER = logging.getLogger("myrunstreak.progress")  # `myrunstreak run` prints it live


def table_schema(con, relation: str) -> dg.TableSchema:
    """``dagster/column_schema`` of a table or view, read from DuckDB's catalog."""
    rows = con.execute(load_sql("queries/dagster/describe_relation.sql"), {"name": relation}).fetchall()
    return dg.TableSchema(columns=[dg.TableColumn(name=name, type=str(kind)) for name, kind in rows])


def table_row_counts(con) -> dict[str, int]:
    return dict(con.execute(load_sql("queries/dagster/table_row_counts.sql")).fetchall())


def run_sql_check(con, check_file: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``sql/checks/<check_file>``: one row whose ``failures`` column is 0 when the check passes."""
    cursor = con.execute(load_sql(f"checks/{check_file}"), params or {})
    names = [column[0] for column in cursor.description]
    return dict(zip(names, cursor.fetchone()))


def check_result(name: str, asset: str, outcome: dict[str, Any], *, description: str) -> dg.AssetCheckResult:
    failures = int(outcome.get("failures") or 0)
    metadata = {key: _metadata_value(value) for key, value in outcome.items()}
    return dg.AssetCheckResult(
        check_name=name, asset_key=asset, passed=failures == 0, metadata=metadata, description=description
    )


def _metadata_value(value: Any) -> Any:
    if value is None:
        return dg.MetadataValue.null()
    if isinstance(value, (list, tuple)):
        return dg.MetadataValue.json([str(v) for v in value])
    if isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def log_progress(context: dg.OpExecutionContext, message: str) -> None:
    """A step's progress line: to Dagster's log (the UI) and to ``myrunstreak run``'s terminal."""
    context.log.info(message)
    PROGRESS_LOGGER.info(message)
