"""Activity files in the database: storing imported files' runs, and the duplicate decisions between sources.

A file's run goes through the same path as a SmashRun detail payload (validation, quarantine, monotonic upsert
into ``runs``, ``laps``, ``recording_data``, ``raw_activities``) with ``runs.data_source`` set to the file format;
the file itself (content hash, name, sport, how its local date was found) is a row of ``activity_files``. The
same-run rule (sql/queries/duplicates/refresh.sql) is re-applied in the same transaction, so a run recorded by
two sources counts once from the moment it is stored. This module knows nothing of file formats: the ``imports``
room hands it ``FileRecord``s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from myrunstreak_pipeline.duckdb_ops import staging
from myrunstreak_pipeline.duckdb_ops.transactions import transaction
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql

FILE_FORMATS = ("fit", "gpx", "tcx")


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One parsed file: its SmashRun-shaped payload and the ``activity_files`` row."""

    payload: dict[str, Any]
    activity_id: str
    content_sha256: str
    file_format: str  # fit | gpx | tcx
    file_name: str
    sport: str
    sport_raw: str | None
    zone_source: str  # file | gps | default
    time_zone: str | None
    elapsed_seconds: float
    device: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class FailedFile:
    """A file that could not be read as an activity: quarantined with ``reason`` (never its contents)."""

    file_name: str
    reason: str
    content_sha256: str | None = None
    size_bytes: int | None = None

    def quarantine_payload(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if k != "reason" and v is not None}, sort_keys=True)


@dataclass(frozen=True)
class FileImportResult:
    imported: list[str] = field(default_factory=list)  # activity ids stored by this import
    known: int = 0  # files whose content was imported before (or earlier in the same batch)
    duplicates: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (kept id, kept source)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)

    @property
    def duplicates_of_smashrun(self) -> int:
        return sum(1 for _kept, source in self.duplicates.values() if source == "smashrun")


_FILE_COLUMNS = [
    ("activity_id", pa.string()),
    ("content_sha256", pa.string()),
    ("file_format", pa.string()),
    ("file_name", pa.string()),
    ("title", pa.string()),
    ("sport", pa.string()),
    ("sport_raw", pa.string()),
    ("zone_source", pa.string()),
    ("time_zone", pa.string()),
    ("elapsed_seconds", pa.float64()),
    ("device", pa.string()),
]


def _files_table(records: Sequence[FileRecord]) -> pa.Table:
    return pa.table({name: pa.array([getattr(r, name) for r in records], type=kind) for name, kind in _FILE_COLUMNS})


RECORDING_KEYS = ("recordingKeys", "recordingValues", "pauseIndexes")


def _without_recordings_in_raw(staged: staging.StagedBatch, fresh: dict[str, FileRecord]) -> staging.StagedBatch:
    """A file's raw payload is our reading of it, not what a source sent (the file is kept by its hash): its
    recording, hundreds of kB of JSON that recording_data already holds, stays out of raw_activities (measured:
    half the database and a third of the import time for ten years of daily GPX)."""
    slim = {
        r.activity_id: json.dumps(
            {k: v for k, v in r.payload.items() if k not in RECORDING_KEYS}, separators=(",", ":")
        )
        for r in fresh.values()
    }
    ids = staged.raw["activity_id"].to_pylist()
    payloads = pa.array([slim[activity_id] for activity_id in ids], type=pa.string())
    return replace(staged, raw=staged.raw.set_column(staged.raw.schema.get_field_index("payload"), "payload", payloads))


class FileImports:
    """``RunRepository``'s file and duplicate methods (mixed in; uses its connection and write path)."""

    def known_file_hashes(self, hashes: Sequence[str]) -> set[str]:
        rows = self.connection.execute(
            load_sql("queries/duplicates/known_file_hashes.sql"), {"content_hashes": list(hashes)}
        ).fetchall()
        return {row[0] for row in rows}

    def all_file_hashes(self) -> set[str]:
        """Content hashes of every imported file (an importer skips these unparsed)."""
        return {
            row[0] for row in self.connection.execute(load_sql("queries/duplicates/all_file_hashes.sql")).fetchall()
        }

    def store_activity_files(
        self,
        records: Sequence[FileRecord],
        failures: Sequence[FailedFile] = (),
        *,
        imported_at: datetime | None = None,
    ) -> FileImportResult:
        """Store parsed files and quarantine failed ones, in ONE transaction; files already imported (same
        content) are skipped. Returns what happened to each, duplicates of other sources included."""
        for record in records:
            if record.file_format not in FILE_FORMATS or record.activity_id != record.payload.get("activityId"):
                raise MyRunStreakError(f"{record.file_name}: not a file record this store can keep")
        now = (imported_at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        with transaction(self.connection):
            known = self.known_file_hashes([r.content_sha256 for r in records])
            fresh: dict[str, FileRecord] = {}
            for record in records:
                if record.content_sha256 not in known:
                    fresh.setdefault(record.content_sha256, record)
            result = None
            if fresh:
                staged = _without_recordings_in_raw(
                    staging.stage_activities([r.payload for r in fresh.values()], payload_kind="detail"), fresh
                )
                if staged.quarantine:  # a file's payload failing validation: its name and hash, never its track
                    staged = replace(staged, quarantine=_compact_quarantine(staged.quarantine, fresh.values()))
                formats = {r.activity_id: r.file_format for r in fresh.values()}
                result = self._write_batch(staged, now, formats)
                with self._staged("staged_files", _files_table(list(fresh.values()))):
                    self.connection.execute(
                        load_sql("queries/duplicates/insert_activity_files.sql"), {"imported_at": now}
                    )
            if failures:
                rows = [(None, failure.quarantine_payload(), failure.reason) for failure in failures]
                with self._staged("staged_quarantine", staging.quarantine_table(list(dict.fromkeys(rows)))):
                    self.connection.execute(
                        load_sql("queries/repository/insert_quarantine.sql"),
                        {"payload_kind": "file", "quarantined_at": now},
                    )
            self._refresh_duplicates()
            stored = self.known_file_hashes(list(fresh))
            imported = [r.activity_id for r in fresh.values() if r.content_sha256 in stored]
            decisions = self.connection.execute(
                load_sql("queries/duplicates/decisions_for.sql"), {"activity_ids": imported}
            ).fetchall()
        names = {r.activity_id: r.file_name for r in fresh.values()}
        invalid = [
            (names.get(activity_id or "", "?"), reason)
            for activity_id, reason in (result.quarantine_reasons if result else [])
        ]
        return FileImportResult(
            imported=imported,
            known=len(records) - len(fresh),
            duplicates={row[0]: (row[1], row[2]) for row in decisions},
            quarantined=[(f.file_name, f.reason) for f in failures] + invalid,
        )

    # ------------------------------------------------------------------ duplicates
    def list_duplicates(self) -> list[dict[str, Any]]:
        """Every duplicate decision: both records, the gaps, the rule and the reason (newest run first)."""
        cursor = self.connection.execute(load_sql("queries/duplicates/list.sql"))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def list_splits(self) -> list[tuple[str, str, datetime]]:
        return self.connection.execute(load_sql("queries/duplicates/list_splits.sql")).fetchall()

    def split_duplicate(self, activity_id: str) -> list[tuple[str, str]]:
        """Undo the merges involving ``activity_id``: both records count again, and the rule leaves the pairs
        alone from now on. Returns the pairs split; an id in no merge is an error naming what to run."""
        with transaction(self.connection):
            pairs = self.connection.execute(
                load_sql("queries/duplicates/split.sql"), {"activity_id": str(activity_id), "split_at": _now()}
            ).fetchall()
            if not pairs:
                raise MyRunStreakError(
                    f"run {activity_id} is not merged with another record",
                    hint="`myrunstreak runs --duplicates` lists the merged records and their ids",
                )
            self._refresh_duplicates()
        return [tuple(pair) for pair in pairs]

    def unsplit_duplicate(self, activity_id: str) -> list[tuple[str, str]]:
        """Forget the splits involving ``activity_id``; the same-run rule decides about those pairs again."""
        with transaction(self.connection):
            pairs = self.connection.execute(
                load_sql("queries/duplicates/unsplit.sql"), {"activity_id": str(activity_id)}
            ).fetchall()
            if not pairs:
                raise MyRunStreakError(
                    f"run {activity_id} was never split from another record",
                    hint="`myrunstreak runs --duplicates` lists the splits too",
                )
            self._refresh_duplicates()
        return [tuple(pair) for pair in pairs]


def _compact_quarantine(
    rows: Sequence[tuple[str | None, str, str]], records: Iterable[FileRecord]
) -> list[tuple[str | None, str, str]]:
    """Quarantine rows for file payloads that failed validation, as ``FailedFile`` describes a file (name, content
    hash): the SmashRun-shaped payload holds the whole GPS track and heart rate, which the quarantine never keeps
    for a file (and which would make its row as large as the file)."""
    by_id = {record.activity_id: record for record in records}
    compact = []
    for activity_id, payload, reason in rows:
        record = by_id.get(activity_id or "")
        if record is not None:
            payload = FailedFile(record.file_name, reason, record.content_sha256).quarantine_payload()
        compact.append((activity_id, payload, reason))
    return compact


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
