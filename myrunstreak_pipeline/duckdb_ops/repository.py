"""RunRepository: bulk, idempotent writes of SmashRun activities into DuckDB, and the queries on them.

Every write goes through one path (``_write_batch``): the batch is validated and de-duplicated
(``validation.py``) and converted to Arrow (``staging.py``), then loaded with a handful of set-based statements
over the registered Arrow tables, inside one transaction. The seed's single-row methods are thin wrappers over it.

Updates are monotonic (sql/queries/repository/staged_verdicts.sql has the full rule): a stored activity is replaced
only by a payload with a newer ``dateUpdatedUTC`` (a detail payload also at an equal one), and deletions are ordered
the same way (``deleted_as_of_utc``), so batches, partitions, runs and S3 retries give the same database whatever
order they land in, and re-applying a batch is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from myrunstreak_pipeline.duckdb_ops import staging
from myrunstreak_pipeline.duckdb_ops.file_store import FileImports
from myrunstreak_pipeline.duckdb_ops.read_queries import RunQueries
from myrunstreak_pipeline.duckdb_ops.staging import PayloadKind, StagedBatch, as_staged_batch, stage_activities
from myrunstreak_pipeline.duckdb_ops.transactions import transaction
from myrunstreak_pipeline.duckdb_ops.validation import readable_id
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.models import Activity
from myrunstreak_pipeline.settings import DEFAULT_STREAK_MIN_KM, Settings
from myrunstreak_pipeline.sql import load_sql
from myrunstreak_pipeline.today import local_today


@dataclass(frozen=True)
class UpsertResult:
    """What one write did. ``quarantine_reasons`` holds (activity_id or None, reason) per rejected payload."""

    loaded: int = 0  # distinct activities now stored at this payload's version (applied, or already current)
    quarantined: int = 0
    quarantine_reasons: list[tuple[str | None, str]] = field(default_factory=list)
    duplicates: int = 0  # valid payloads superseded by a newer one for the same id in the same batch
    marked_deleted: int = 0  # replace_window: runs newly flagged deleted upstream
    stale: int = 0  # valid payloads not applied: the stored run is newer (or stamped while they are not)
    unknown_enum_values: dict[str, list[str]] = field(default_factory=dict)  # field -> values kept verbatim


def _naive_utc(moment: datetime | None) -> datetime:
    """``moment`` (aware, or naive meaning UTC) as naive UTC, the way the tables store instants; None: now."""
    if moment is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _rows_as_dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


class RunRepository(RunQueries, FileImports):
    """Reads and writes runs on an open DuckDB connection (from ``DuckDBManager.connection``)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.connection = connection

    # ------------------------------------------------------------------ bulk writes
    def upsert_activities(
        self,
        items: Iterable[Mapping[str, Any] | Activity] | StagedBatch,
        *,
        payload_kind: PayloadKind = "summary",
        fetched_at: datetime | None = None,
    ) -> UpsertResult:
        """Validate, dedupe and upsert any number of payloads in ONE transaction; invalid ones are quarantined.

        ``payload_kind="detail"`` (full activities) also replaces each activity's laps and recording; a summary
        upsert leaves them, and the stored extended fields, alone. ``items`` may be a ``StagedBatch``.
        """
        staged = as_staged_batch(items, payload_kind)
        with transaction(self.connection):
            result = self._write_batch(staged, fetched_at)
            self._refresh_duplicates()
            return result

    def replace_window(
        self,
        start_date: date,
        end_date_exclusive: date,
        items: Iterable[Mapping[str, Any] | Activity] | StagedBatch,
        *,
        cursor: Mapping[str, str] | None = None,
        listed_at: datetime | None = None,
    ) -> UpsertResult:
        """The idempotent partition write: upsert ``items`` (summaries); flag as deleted every live run dated in
        ``[start_date, end_date_exclusive)`` that the items no longer contain; store ``cursor`` in sync_state.
        All in one transaction. A payload that fails validation still protects its stored run from deletion.

        ``listed_at`` is when the listing was fetched (default: now; naive means UTC): the deletions are recorded
        as of then, and a run stored with a newer ``dateUpdatedUTC`` (loaded from a newer listing) is not flagged.
        """
        if end_date_exclusive <= start_date:
            raise MyRunStreakError("replace_window: the end date must be after the start date")
        staged = as_staged_batch(items, "summary")
        listed_at = _naive_utc(listed_at)
        with transaction(self.connection):
            result = self._write_batch(staged, listed_at)
            with self._staged("staged_present_ids", staged.present_ids):
                marked = self._flag_deleted(
                    "flag_deleted_in_window.sql",
                    {"start_date": start_date, "end_date": end_date_exclusive, "listed_at": listed_at},
                )
            if cursor:
                self._set_sync_state(cursor)
            self._refresh_duplicates()
        return UpsertResult(**{**result.__dict__, "marked_deleted": marked})

    def _write_batch(
        self, staged: StagedBatch, fetched_at: datetime | None, data_sources: Mapping[str, str] | None = None
    ) -> UpsertResult:
        """``data_sources``: activity id -> 'fit' / 'gpx' / 'tcx' for file imports; None: every run is SmashRun's."""
        now = _naive_utc(None)
        fetched_at = _naive_utc(fetched_at) if fetched_at is not None else now
        stale = 0
        if staged.quarantine:
            distinct = list(dict.fromkeys(staged.quarantine))  # identical bad payloads: one row
            with self._staged("staged_quarantine", staging.quarantine_table(distinct)):
                self.connection.execute(
                    load_sql("queries/repository/insert_quarantine.sql"),
                    {"payload_kind": staged.payload_kind, "quarantined_at": now},
                )
        if staged.loaded:
            with self._staged("staged_raw", staged.raw):
                # Decide first, for the whole batch, which payloads win over what is stored (monotonic updates);
                # every write is restricted to them. A fully stale or already-stored batch writes nothing.
                verdicts = self.connection.execute(
                    load_sql("queries/repository/staged_verdicts.sql"), {"payload_kind": staged.payload_kind}
                ).to_arrow_table()
                stale = int(pc.sum(verdicts["stale"]).as_py() or 0)
                winners = verdicts.filter(verdicts["applies"]).drop_columns(["applies", "stale"])
                if winners.num_rows:
                    with self._staged("staged_winners", winners):
                        self._apply_winners(staged, fetched_at, data_sources)
        return UpsertResult(
            loaded=staged.loaded - stale,
            stale=stale,
            quarantined=len(staged.quarantine),
            quarantine_reasons=[(q[0], q[2]) for q in staged.quarantine],
            duplicates=staged.duplicates,
            unknown_enum_values=staged.unknown_enum_values,
        )

    def _apply_winners(self, staged: StagedBatch, fetched_at: datetime, data_sources: Mapping[str, str] | None) -> None:
        # staged_raw and staged_winners are registered by the caller.
        self.connection.execute(
            load_sql("queries/repository/upsert_raw_activities.sql"),
            {"payload_kind": staged.payload_kind, "fetched_at": fetched_at},
        )
        # Where a run came from is the writer's to say, never the payload's.
        ids = staged.runs["activity_id"].to_pylist()
        origin = [(data_sources or {}).get(activity_id, "smashrun") for activity_id in ids]
        runs = staged.runs.append_column("data_source", pa.array(origin, type=pa.string()))
        with self._staged("staged_runs", runs):
            self.connection.execute(
                load_sql("queries/repository/merge_runs.sql"), {"keep_extended": staged.payload_kind == "summary"}
            )
        if staged.payload_kind == "detail":
            self._replace_details(staged)

    def _replace_details(self, staged: StagedBatch) -> None:
        # staged_winners is registered by the caller: its ids (the winning detail payloads) scope every statement.
        self.connection.execute(load_sql("queries/repository/delete_laps.sql"))
        self.connection.execute(load_sql("queries/repository/delete_recordings.sql"))
        if staged.laps is not None and staged.laps.num_rows:
            with self._staged("staged_laps", staged.laps):
                self.connection.execute(load_sql("queries/repository/insert_laps.sql"))
        if staged.recordings is not None and staged.recordings.num_rows:
            with self._staged("staged_recordings", staged.recordings):
                self.connection.execute(load_sql("queries/repository/insert_recordings.sql"))

    @contextmanager
    def _staged(self, name: str, table: pa.Table) -> Iterator[None]:
        self.connection.register(name, table)
        try:
            yield
        finally:
            self.connection.unregister(name)

    # ------------------------------------------------------------------ the seed's single-row methods
    def upsert_run(self, activity: Activity | Mapping[str, Any]) -> UpsertResult:
        return self.upsert_activities([activity])

    def insert_run(self, activity: Activity | Mapping[str, Any]) -> UpsertResult:
        """Insert a run that is not stored yet (an existing id is an error: use ``upsert_run``)."""
        activity_id = activity.activity_id if isinstance(activity, Activity) else readable_id(activity)
        if activity_id is not None and self._existing_ids([activity_id]):
            raise MyRunStreakError(f"run {activity_id} is already stored", hint="use upsert_run to replace it")
        return self.upsert_activities([activity])

    def update_run(self, activity: Activity | Mapping[str, Any]) -> UpsertResult:
        """Replace a stored run (an unknown id is an error: use ``insert_run``)."""
        activity_id = activity.activity_id if isinstance(activity, Activity) else readable_id(activity)
        if activity_id is None or not self._existing_ids([activity_id]):
            raise MyRunStreakError(f"run {activity_id} is not stored", hint="use insert_run or upsert_run")
        return self.upsert_activities([activity])

    def _existing_ids(self, activity_ids: list[str]) -> set[str]:
        rows = self.connection.execute(
            load_sql("queries/repository/existing_ids.sql"), {"activity_ids": activity_ids}
        ).fetchall()
        return {row[0] for row in rows}

    # ------------------------------------------------------------------ deletions and sync state
    def mark_deleted(self, activity_ids: Iterable[str | int], *, as_of: datetime | None = None) -> int:
        """Flag runs as deleted upstream, as observed at ``as_of`` (default: now; naive means UTC). Reversible: a
        later payload stamped after ``as_of`` un-deletes. A run stored with a newer stamp than ``as_of`` is left
        alone. Returns how many runs were newly flagged."""
        ids = [str(activity_id) for activity_id in activity_ids]
        if not ids:
            return 0
        with transaction(self.connection):
            flagged = self._flag_deleted("mark_deleted.sql", {"activity_ids": ids, "as_of": _naive_utc(as_of)})
            self._refresh_duplicates()
            return flagged

    def _refresh_duplicates(self) -> None:
        """Re-apply the same-run rule (sql/queries/duplicates/refresh.sql) to everything stored; inside the
        caller's transaction, so a write and its duplicate decisions land together."""
        self.connection.execute(load_sql("queries/duplicates/refresh.sql"), {"decided_at": _naive_utc(None)})

    def _flag_deleted(self, sql_file: str, params: dict[str, Any]) -> int:
        """Flag live runs deleted, then move ``deleted_as_of_utc`` forward on runs already flagged (a newer
        observation of the same deletion). Returns how many runs were newly flagged."""
        sql = load_sql(f"queries/repository/{sql_file}")
        flagged = self.connection.execute(sql, {**params, "already_deleted": False}).fetchone()[0]
        self.connection.execute(sql, {**params, "already_deleted": True})
        return int(flagged)

    def get_sync_state(self, key: str) -> str | None:
        row = self.connection.execute(load_sql("queries/repository/get_sync_state.sql"), {"key": key}).fetchone()
        return row[0] if row else None

    def set_sync_state(self, mapping: Mapping[str, str]) -> None:
        if mapping:
            with transaction(self.connection):
                self._set_sync_state(mapping)

    def _set_sync_state(self, mapping: Mapping[str, str]) -> None:
        values = {str(key): str(value) for key, value in mapping.items()}
        with self._staged("staged_sync_state", staging.key_value_table(values)):
            self.connection.execute(load_sql("queries/repository/set_sync_state.sql"))

    # ------------------------------------------------------------------ queries
    def stored_activity_ids(self, include_deleted: bool = False) -> set[str]:
        rows = self.connection.execute(
            load_sql("queries/repository/stored_activity_ids.sql"), {"include_deleted": include_deleted}
        ).fetchall()
        return {row[0] for row in rows}

    def stored_run_versions(self) -> dict[str, tuple[date, float | None, bool]]:
        """activity id -> (local date, dateUpdatedUTC as epoch seconds, deleted) of every stored run."""
        rows = self.connection.execute(load_sql("queries/repository/stored_run_versions.sql")).fetchall()
        return {activity_id: (day, stamp, deleted) for activity_id, day, stamp, deleted in rows}

    def activity_dates(self, activity_ids: Iterable[str | int]) -> dict[str, date]:
        """Local calendar date of each stored run among ``activity_ids`` (unknown ids are absent)."""
        ids = [str(activity_id) for activity_id in activity_ids]
        if not ids:
            return {}
        rows = self.connection.execute(
            load_sql("queries/repository/activity_dates.sql"), {"activity_ids": ids}
        ).fetchall()
        return dict(rows)

    def ids_needing_details(self, limit: int) -> list[str]:
        """Live runs with recordings whose detail payload is missing or stale, newest first."""
        rows = self.connection.execute(
            load_sql("queries/repository/ids_needing_details.sql"), {"limit": max(0, int(limit))}
        ).fetchall()
        return [row[0] for row in rows]

    def count_needing_details(self) -> int:
        """How many runs the detail queue holds (``ids_needing_details`` without fetching the ids)."""
        row = self.connection.execute(load_sql("queries/repository/ids_needing_details.sql"), {"limit": 1}).fetchone()
        return int(row[1]) if row else 0

    def table_counts(self) -> dict[str, int]:
        """Row counts of the data tables (``live_runs`` = runs not flagged deleted)."""
        return dict(self.connection.execute(load_sql("queries/repository/table_counts.sql")).fetchall())

    def get_run_by_id(self, activity_id: str | int) -> dict[str, Any] | None:
        """The ``runs`` row (deleted ones included, see its ``deleted`` column), or None."""
        cursor = self.connection.execute(
            load_sql("queries/repository/run_by_id.sql"), {"activity_id": str(activity_id)}
        )
        rows = _rows_as_dicts(cursor)
        return rows[0] if rows else None

    def get_runs_by_date_range(self, start: date, end: date) -> list[dict[str, Any]]:
        """Live runs whose local date is in ``[start, end]`` (inclusive), in start order."""
        cursor = self.connection.execute(
            load_sql("queries/repository/runs_by_date_range.sql"), {"start_date": start, "end_date": end}
        )
        return _rows_as_dicts(cursor)

    def get_latest_run(self) -> dict[str, Any] | None:
        rows = _rows_as_dicts(self.connection.execute(load_sql("queries/repository/latest_run.sql")))
        return rows[0] if rows else None

    def get_total_runs(self) -> int:
        return int(self.connection.execute(load_sql("queries/repository/total_runs.sql")).fetchone()[0])

    def get_current_streak(
        self, today: date | None = None, *, min_km: float | None = None, timezone_name: str | None = None
    ) -> dict[str, Any]:
        """``{"days", "start", "end", "status"}``: days on which the live runs sum (exactly, in DECIMAL) to
        >= ``min_km`` (default 1.609344), consecutive up to today or yesterday; status ``active`` / ``at_risk`` /
        ``broken``. Needs the analytics views, which ``DuckDBManager`` installs.

        ``today`` defaults to the date in ``timezone_name`` (default MYRUNSTREAK_TIMEZONE, else the machine's)."""
        if today is None:
            today = local_today(timezone_name or Settings.from_env().timezone)
        threshold = DEFAULT_STREAK_MIN_KM if min_km is None else float(min_km)
        days, start, end, status = self.connection.execute(
            load_sql("queries/repository/current_streak.sql"), {"today": today, "min_km": threshold}
        ).fetchone()
        return {"days": int(days), "start": start, "end": end, "status": status}


__all__ = ["PayloadKind", "RunRepository", "StagedBatch", "UpsertResult", "stage_activities"]
