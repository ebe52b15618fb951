"""Which yearly partitions changed upstream: "new or updated since" + id reconciliation (deletions).

Shared by the sensor and ``myrunstreak run`` (incremental). At most two API requests: one
``list_updated_since`` and, when the stored runs could be read, one ``list_ids``. The listing starts an hour
before the cursor (clock-skew margin), so a listed activity only counts as a change when it is not stored
yet or its ``dateUpdatedUTC`` differs from the stored one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import duckdb

from myrunstreak_pipeline.duckdb_ops import RunRepository
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.models.fields import max_updated_epoch, updated_epoch
from myrunstreak_pipeline.smashrun.client import SmashRunClient
from myrunstreak_pipeline.smashrun.results import deleted_ids

CURSOR_KEY = "summaries.updated_since"  # sync_state: epoch seconds of the newest dateUpdatedUTC fully loaded


class ReadableDatabase(Protocol):
    """An open database: a ``DuckDBManager``, or the read-only attachment of an ``s3://`` database."""

    @property
    def connection(self) -> duckdb.DuckDBPyConnection: ...


class RunStorage(Protocol):
    """Where the runs are stored (``defs.resources.DuckDBStorage``, kept duck-typed so this module needs no
    Dagster): ``reader()`` opens it read-only and raises ``MyRunStreakError`` when it is missing or busy."""

    def reader(self) -> AbstractContextManager[ReadableDatabase]: ...


def year_key(day: dt.date | str) -> str:
    """The local calendar year (a yearly partition key) of a local date or 'YYYY-MM-DD…' string."""
    return str(day)[:4]


@dataclass
class ChangePlan:
    updated_years: dict[str, float] = field(default_factory=dict)  # year -> newest dateUpdatedUTC (epoch) in it
    deleted_years: dict[str, list[str]] = field(default_factory=dict)  # year -> ids gone upstream
    new_cursor: float | None = None  # newest dateUpdatedUTC listed (None: nothing listed)
    reconciled: bool = False  # False when the stored runs could not be read (database busy or missing)
    note: str = ""
    requests_used: int = 0

    @property
    def years(self) -> list[str]:
        return sorted(set(self.updated_years) | set(self.deleted_years))

    def run_key(self, year: str) -> str:
        """Dedupes launches: the same change seen by two ticks gives the same key."""
        parts = [year]
        if year in self.updated_years:
            parts.append(f"updated@{self.updated_years[year]:.3f}")
        if year in self.deleted_years:
            digest = hashlib.sha1(",".join(sorted(self.deleted_years[year])).encode()).hexdigest()[:12]
            parts.append(f"deleted#{digest}")
        return ":".join(parts)


def stored_cursor(storage: RunStorage) -> float | None:
    """The "updated since" cursor stored with the data, or None (no database yet, none stored, or busy)."""
    try:
        with storage.reader() as db:
            value = RunRepository(db.connection).get_sync_state(CURSOR_KEY)
    except MyRunStreakError:
        return None
    return float(value) if value else None


def plan_changes(client: SmashRunClient, storage: RunStorage, since_epoch: float) -> ChangePlan:
    """What changed since ``since_epoch``: listed activities that are new or newer than the stored copy,
    and stored live runs that SmashRun no longer lists. When a writer holds the database, the stored runs
    cannot be read: every listed activity then counts as changed and the reconciliation waits (``note``)."""
    plan = ChangePlan()
    before = client.request_count
    updated = client.list_updated_since(since_epoch)
    items = updated.activities + [raw for raw, _reason in updated.rejects]
    plan.new_cursor = max_updated_epoch(items)

    stored: dict[str, tuple] | None
    try:
        with storage.reader() as db:  # read and release: no lock held while waiting on the network
            stored = RunRepository(db.connection).stored_run_versions()
    except MyRunStreakError as error:  # locked by a writer, or no database yet
        stored = None
        plan.note = f"id reconciliation skipped this time: {error}"

    for item in items:
        day = item.get("startDateTimeLocal") if isinstance(item, dict) else None
        if not isinstance(day, str) or len(day) < 10:
            continue  # unreadable date: the repository quarantines it when its window is loaded
        stamp = updated_epoch(item) or 0.0
        known = stored.get(str(item.get("activityId"))) if stored is not None else None
        if known is not None and not known[2] and known[1] is not None and abs(float(known[1]) - stamp) < 0.001:
            continue  # already stored in exactly this version
        year = year_key(day)
        plan.updated_years[year] = max(plan.updated_years.get(year, 0.0), stamp)

    if stored is not None:
        live = {activity_id: value for activity_id, value in stored.items() if not value[2]}
        gone = deleted_ids(live, client.list_ids()) if live else set()
        for activity_id in sorted(gone):
            plan.deleted_years.setdefault(year_key(live[activity_id][0]), []).append(activity_id)
        plan.reconciled = True
    plan.requests_used = client.request_count - before
    return plan
