"""Import activity files: read and parse them (in a process pool), then store them in batches.

Parsing is pure Python and CPU-bound (fitdecode, gpxpy, tcxreader), so a pool of processes uses every core; the
parent only stores. Workers return compact records (the SmashRun-shaped payload) or a failure with its reason,
never raise, and skip a file whose content the database already holds before parsing it (the hash is cheap).
Records are stored ``batch_size`` at a time, each batch in one transaction: memory stays flat in the number of
files, and a crash loses at most the batch in flight (re-importing is a no-op for what was stored).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

from myrunstreak_pipeline.duckdb_ops import FailedFile, FileImportResult, FileRecord
from myrunstreak_pipeline.files import (
    ActivityFileError,
    FileActivity,
    content_digest,
    normalise_sport,
    read_activity_file,
)
from myrunstreak_pipeline.imports.discover import FileToImport

BATCH_SIZE = 250  # files per transaction: fewer commits (DuckDB rewrites the growing recording lists at checkpoints)
IN_FLIGHT_PER_WORKER = 4  # parsed files a worker may be ahead of the parent
POOL_THRESHOLD = 8  # fewer files than this are parsed in-process (starting workers costs ~1 s)
_KNOWN: frozenset[str] = frozenset()  # per worker: content hashes already imported (set by the initializer)


@dataclass
class ImportSummary:
    """What an import did, file by file counted once."""

    files: int = 0
    imported: int = 0
    known: int = 0  # already imported (same content), skipped
    duplicates_of_smashrun: int = 0  # imported, but the same run as a SmashRun record: counted once
    duplicates_of_files: int = 0  # imported, but the same run as another file
    not_counted: int = 0  # imported, of a sport that never counts (rides, swims) or is not configured
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    activity_ids: list[str] = field(default_factory=list)

    def add(self, result: FileImportResult, skipped_known: int) -> None:
        self.imported += len(result.imported)
        self.known += result.known + skipped_known
        self.duplicates_of_smashrun += result.duplicates_of_smashrun
        self.duplicates_of_files += len(result.duplicates) - result.duplicates_of_smashrun
        self.quarantined.extend(result.quarantined)
        self.activity_ids.extend(result.imported)

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "imported": self.imported,
            "already_known": self.known,
            "duplicates_of_smashrun": self.duplicates_of_smashrun,
            "duplicates_of_files": self.duplicates_of_files,
            "not_counted": self.not_counted,
            "quarantined": len(self.quarantined),
        }


def file_record(activity: FileActivity, item: FileToImport | None = None) -> FileRecord:
    """A parsed file as the store keeps it. An export's stated sport (Strava's activities.csv, which the runner
    may have corrected) wins over the file's own when it names a sport we know."""
    sport, sport_raw = activity.sport, activity.sport_raw
    hinted = normalise_sport(item.sport_hint) if item is not None and item.sport_hint else "unknown"
    if hinted not in ("unknown", "other"):
        sport, sport_raw = hinted, item.sport_hint
    payload = activity.to_payload()
    payload["activityType"] = sport
    if item is not None and item.title:
        payload["notes"] = item.title
    return FileRecord(
        payload=payload,
        activity_id=activity.activity_id,
        content_sha256=activity.content_sha256,
        file_format=activity.source,
        file_name=item.name if item is not None else activity.name,
        sport=sport,
        sport_raw=sport_raw,
        zone_source=activity.zone_source,
        time_zone=activity.zone_name,
        elapsed_seconds=activity.elapsed_seconds,
        device=activity.device,
        title=item.title if item is not None else None,
    )


def parse_item(
    item: FileToImport, default_zone: str, known: frozenset[str] = frozenset()
) -> FileRecord | FailedFile | str:
    """One file -> its record, its failure, or (already imported) its content hash. Never raises."""
    digest = None
    data = b""
    try:
        data = item.read()
        digest = content_digest(data, item.file_name)
        if digest in known:
            return digest
        return file_record(read_activity_file(data, item.file_name, default_zone=default_zone), item)
    except ActivityFileError as error:
        return FailedFile(item.name, error.reason, digest, len(data) or item.size)
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the import; the type says enough
        return FailedFile(item.name, f"could not be read ({type(error).__name__})", digest, len(data) or item.size)


def _init_worker(known: frozenset[str]) -> None:
    global _KNOWN
    _KNOWN = known


def _parse_in_worker(item: FileToImport, default_zone: str) -> FileRecord | FailedFile | str:
    return parse_item(item, default_zone, _KNOWN)


def parse_all(
    items: Sequence[FileToImport], default_zone: str, known: frozenset[str], workers: int
) -> Iterator[FileRecord | FailedFile | str]:
    """Parse ``items`` in order, in ``workers`` processes when there are enough of them to pay for the start."""
    if workers <= 1 or len(items) < POOL_THRESHOLD:
        for item in items:
            yield parse_item(item, default_zone, known)
        return
    # forkserver: a forked child would inherit the parent's DuckDB and Dagster threads and locks
    context = get_context("forkserver")
    window = workers * IN_FLIGHT_PER_WORKER  # results waiting for the parent stay bounded: flat memory
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(known,)) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(_parse_in_worker, item, default_zone))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def import_files(
    items: Iterable[FileToImport],
    store: Callable[[Sequence[FileRecord], Sequence[FailedFile]], FileImportResult],
    *,
    known: frozenset[str] = frozenset(),
    default_zone: str = "UTC",
    counted_sports: Sequence[str] = ("running",),
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Parse and store every item. ``store(records, failures)`` writes one batch in one transaction (e.g.
    ``RunRepository.store_activity_files``); ``known`` are content hashes already stored (skipped unparsed);
    ``progress(done, total)`` is called after each file."""
    items = list(items)
    summary = ImportSummary(files=len(items))
    records: list[FileRecord] = []
    failures: list[FailedFile] = []
    skipped = 0
    counted = {*counted_sports, "unknown"} if "running" in counted_sports else set(counted_sports)

    def flush() -> None:
        nonlocal skipped
        if records or failures:
            result = store(list(records), list(failures))
            summary.add(result, skipped)
            stored = set(result.imported)
            summary.not_counted += sum(1 for r in records if r.activity_id in stored and r.sport not in counted)
        elif skipped:
            summary.known += skipped
        records.clear()
        failures.clear()
        skipped = 0

    for done, outcome in enumerate(parse_all(items, default_zone, known, workers or default_workers()), 1):
        if isinstance(outcome, FileRecord):
            records.append(outcome)
        elif isinstance(outcome, FailedFile):
            failures.append(outcome)
        else:
            skipped += 1
        if len(records) + len(failures) >= batch_size:
            flush()
        if progress is not None:
            progress(done, len(items))
    flush()
    return summary
