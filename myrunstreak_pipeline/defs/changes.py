"""Which yearly partitions changed upstream: "new or updated since" + id reconciliation (deletions).

Shared by the sensor and ``myrunstreak run`` (incremental). At most two API requests: one
``list_updated_since`` and, when the stored ids could be read, one ``list_ids``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from myrunstreak_pipeline.defs.common import max_updated_epoch
from myrunstreak_pipeline.defs.partitions import year_key
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sql import load_sql


@dataclass
class ChangePlan:
    updated_years: dict[str, float] = field(default_factory=dict)  # year -> newest dateUpdatedUTC (epoch) in it
    deleted_years: dict[str, list[str]] = field(default_factory=dict)  # year -> ids gone upstream
    new_cursor: float | None = None  # newest dateUpdatedUTC seen (None: nothing listed)
    reconciled: bool = False  # False when the stored ids could not be read (database busy)
    note: str = ""
    requests_used: int = 0

    @property
    def years(self) -> list[str]:
        return sorted(set(self.updated_years) | set(self.deleted_years))

    def run_key(self, year: str) -> str:
        """Dedupes launches: the same change seen by two ticks gives the same key."""
        parts = [year]
        if year in self.updated_years:
            parts.append(f"updated@{int(self.updated_years[year])}")
        if year in self.deleted_years:
            digest = hashlib.sha1(",".join(sorted(self.deleted_years[year])).encode()).hexdigest()[:12]
            parts.append(f"deleted#{digest}")
        return ":".join(parts)


def plan_changes(client, storage, since_epoch: float) -> ChangePlan:
    """List what changed since ``since_epoch`` and which stored runs disappeared upstream.

    The stored ids are read with a READ-ONLY connection first; when a writer holds the database, the
    reconciliation is skipped (and ``list_ids`` not spent) for this time, and ``note`` says so.
    """
    from myrunstreak_pipeline.smashrun.client import deleted_ids

    plan = ChangePlan()
    before = client.request_count
    updated = client.list_updated_since(since_epoch)
    items = updated.activities + [raw for raw, _reason in updated.rejects]
    for item in items:
        day = item.get("startDateTimeLocal") if isinstance(item, dict) else None
        if not isinstance(day, str) or len(day) < 10:
            continue  # unreadable date: the repository quarantines it when its window is loaded
        stamp = max_updated_epoch([item]) or 0.0
        year = year_key(day)
        plan.updated_years[year] = max(plan.updated_years.get(year, 0.0), stamp)
    plan.new_cursor = max_updated_epoch(items)

    try:
        with storage.reader() as db:  # read and release: no lock held while waiting on the network
            stored_dates = dict(db.connection.execute(load_sql("queries/dagster/live_run_dates.sql")).fetchall())
    except MyRunStreakError as error:  # locked by a writer, or no database yet
        plan.note = f"id reconciliation skipped this time: {error}"
    else:
        gone = deleted_ids(stored_dates, client.list_ids()) if stored_dates else set()
        for activity_id in sorted(gone):
            plan.deleted_years.setdefault(year_key(stored_dates[activity_id]), []).append(activity_id)
        plan.reconciled = True
    plan.requests_used = client.request_count - before
    return plan
