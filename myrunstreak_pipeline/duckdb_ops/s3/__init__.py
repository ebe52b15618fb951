"""The DuckDB-on-S3 storage layer's public API, in one import.

``MYRUNSTREAK_DB=s3://bucket/key.duckdb`` works wherever a local path does:

- writers: ``S3DatabasePublisher(client, parse_s3_uri(uri), run_id=…).run(apply)`` downloads the object with
  its ETag, runs the idempotent ``apply(local_path)``, checkpoints and sanity-checks the copy, and publishes
  it with a conditional put, re-applying on conflicts (``publisher``); the Dagster resource's run-scoped,
  download-once variant is ``run_cache``;
- readers: ``open_reader(uri_or_path).read(fn)`` runs ``fn(connection)`` on one whole published version
  (pinned by VersionId on a versioned bucket, else change-detected and retried); ``ReadOnlyS3Database`` /
  ``open_read_only`` give the raw read-only attachment over httpfs (``reader``);
- shared basics: locations (``duckdb_ops.location``), clients, credentials, the HEAD and error mapping
  (``common``).
"""

from __future__ import annotations

from myrunstreak_pipeline.duckdb_ops.location import S3Location, is_s3_uri, parse_s3_uri
from myrunstreak_pipeline.duckdb_ops.s3.common import ObjectVersion, S3Credentials, make_s3_client
from myrunstreak_pipeline.duckdb_ops.s3.publisher import (
    ConflictError,
    PublishResult,
    PublishUnconfirmedError,
    S3DatabasePublisher,
    WorkingCopy,
)
from myrunstreak_pipeline.duckdb_ops.s3.reader import (
    LocalReadOnlyDatabase,
    ReadOnlyS3Database,
    open_read_only,
    open_reader,
)

__all__ = [
    "ConflictError",
    "LocalReadOnlyDatabase",
    "ObjectVersion",
    "PublishResult",
    "PublishUnconfirmedError",
    "ReadOnlyS3Database",
    "S3Credentials",
    "S3DatabasePublisher",
    "S3Location",
    "WorkingCopy",
    "is_s3_uri",
    "make_s3_client",
    "open_read_only",
    "open_reader",
    "parse_s3_uri",
]
