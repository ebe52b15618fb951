"""The run-scoped publisher of the ``DuckDBStorage`` resource: one download per run, one publish per writing step.

Why per writing step and not once per run: a resource's teardown cannot fail a Dagster run (a raising teardown
still leaves the run SUCCESS, checked with dagster 1.13.27), so a publish at run end could fail silently, and a
conflict would replay the whole run's work. Per step, the publish is the step's last action: a failed publish
fails the step, and the step's idempotent DB work (the API data already fetched) is re-applied on a fresh
download. The object is still downloaded once per run: a step reuses the copy its predecessor published as long
as the object's ETag still matches it (docs/s3.md, "In the Dagster pipeline").
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from myrunstreak_pipeline.duckdb_ops.location import parse_s3_uri
from myrunstreak_pipeline.duckdb_ops.s3.publisher import PublishResult, S3DatabasePublisher, WorkingCopy

CACHE_FILE = "published.duckdb"
CACHE_RECORD = "published.json"


def fallback_run_id() -> str:
    """The id stamped on a publish made outside a Dagster run (there is no run id to use)."""
    return f"myrunstreak-{uuid.uuid4()}"


class CachedS3Publisher(S3DatabasePublisher):
    """``S3DatabasePublisher`` that remembers the copy it last published (or found unchanged) in ``cache_dir``
    and reuses it while a HEAD shows the same ETag, so consecutive steps of one run download the object once.
    A stale cache is harmless: the conditional put then fails with 412 and the retry downloads afresh."""

    def __init__(self, *args: Any, cache_dir: Path, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cache_dir = cache_dir

    def download(self) -> WorkingCopy:
        record = self._cache_record()
        if record is None or self._head().get("ETag") != record["etag"]:
            return super().download()
        path = self._new_working_path()
        shutil.copyfile(self.cache_dir / CACHE_FILE, path)
        return WorkingCopy(
            path=path, etag=record["etag"], source_sha256=record["sha256"], generation=record["generation"]
        )

    def publish(self, working_copy: WorkingCopy) -> PublishResult:
        result = super().publish(working_copy)
        if result.etag:
            generation = working_copy.generation + (1 if result.published else 0)
            self._remember(working_copy.path, result.etag, result.checksum, generation)
        return result

    def _cache_record(self) -> dict | None:
        record_file = self.cache_dir / CACHE_RECORD
        if not record_file.is_file() or not (self.cache_dir / CACHE_FILE).is_file():
            return None
        record = json.loads(record_file.read_text(encoding="utf-8"))
        return record if record.get("uri") == self.location.uri else None

    def _remember(self, path: Path, etag: str, checksum: str, generation: int) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        (self.cache_dir / CACHE_RECORD).unlink(missing_ok=True)  # never a record pointing at a half-copied file
        shutil.copyfile(path, self.cache_dir / CACHE_FILE)
        record = {"uri": self.location.uri, "etag": etag, "sha256": checksum, "generation": generation}
        (self.cache_dir / CACHE_RECORD).write_text(json.dumps(record), encoding="utf-8")


def make_publisher(
    s3_client: Any, uri: str, run_id: str | None, scratch: Path | None, max_attempts: int = 5
) -> S3DatabasePublisher:
    """A publisher for ``uri``; with a run's ``scratch`` directory it works and caches there."""
    location = parse_s3_uri(uri)
    run_id = run_id or fallback_run_id()
    if scratch is None:
        return S3DatabasePublisher(s3_client, location, run_id=run_id, max_attempts=max_attempts)
    return CachedS3Publisher(
        s3_client,
        location,
        run_id=run_id,
        workdir=scratch / "work",
        cache_dir=scratch / "cache",
        max_attempts=max_attempts,
    )
