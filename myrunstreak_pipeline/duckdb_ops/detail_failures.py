"""Bookkeeping of detail ids whose fetch keeps failing (``detail_failures``, migration v003).

A failure (5xx after the client's retries, a body that is not an activity, a dropped connection or timeout) is
recorded with its reason and an attempt count. The fetch queue (``queries/repository/ids_needing_details.sql``)
skips the id until ``next_attempt_at``: exponential backoff of ``BACKOFF_BASE * 2**(attempts - 1)`` (1 h, 2 h,
4 h, 8 h, ...) capped at ``BACKOFF_CAP`` (a week). The attempt that reaches ``max_attempts``
(``MYRUNSTREAK_DETAIL_MAX_ATTEMPTS``) gives the id up: it is no longer fetched, and the ``detail_fetch_failures``
check lists it. An upstream edit of the run (``runs.updated_at_utc`` newer than the last failure) makes it a new
version: fetched again at once, its count starting over. A fetch SmashRun answers (the activity, an invalid one
that is quarantined, or a 404) clears the row, and rows of runs that no longer need details are dropped.

Writes are set-based (one statement per call over lists). Times are naive UTC; ``now`` is a parameter so tests
move the clock instead of sleeping. Reasons are short and hold no secret and no payload text (the client's
``failure_reason``); they are capped at ``REASON_LIMIT`` characters here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from myrunstreak_pipeline.duckdb_ops.transactions import transaction
from myrunstreak_pipeline.sql import load_sql

BACKOFF_BASE = timedelta(hours=1)
BACKOFF_CAP = timedelta(days=7)
REASON_LIMIT = 200


@dataclass(frozen=True)
class DetailFailure:
    """One failing detail id, as the queue sees it (``gave_up`` is False again once the run was edited)."""

    activity_id: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    next_attempt_at: datetime
    last_reason: str
    gave_up: bool


@dataclass(frozen=True)
class DetailFailureReport:
    """What the ``detail_fetch_failures`` check and the details metadata show."""

    backing_off: int = 0  # retried in a later run (after next_attempt_at)
    waiting: int = 0  # of those, not due yet: outside the queue now
    given_up: int = 0
    given_up_ids: list[str] = field(default_factory=list)  # newest failures first, at most 20
    failures: list[DetailFailure] = field(default_factory=list)  # given up first, then the newest; a short list

    @property
    def total(self) -> int:
        return self.backing_off + self.given_up


def utc_now() -> datetime:
    """Now as a naive UTC timestamp (how ``detail_failures`` stores times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def backoff_delay(attempts: int) -> timedelta:
    """How long an id that failed ``attempts`` times waits (what ``record_failures.sql`` computes)."""
    return min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(max(attempts, 1) - 1, 40))


def _naive_utc(now: datetime | None) -> datetime:
    if now is None:
        return utc_now()
    return now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now


def record_detail_failures(
    connection: duckdb.DuckDBPyConnection,
    failures: Iterable[tuple[Any, str]],
    *,
    max_attempts: int,
    now: datetime | None = None,
) -> int:
    """Record ``(activity_id, reason)`` failures of one fetch batch (one statement); returns how many ids."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be >= 1")
    latest: dict[str, str] = {}
    for activity_id, reason in failures:
        text = str(reason)
        latest[str(activity_id)] = text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"
    if not latest:
        return 0
    connection.execute(
        load_sql("queries/details/record_failures.sql"),
        {
            "activity_ids": list(latest),
            "reasons": list(latest.values()),
            "now": _naive_utc(now),
            "max_attempts": max_attempts,
            "base_seconds": BACKOFF_BASE.total_seconds(),
            "cap_seconds": BACKOFF_CAP.total_seconds(),
        },
    )
    return len(latest)


def clear_detail_failures(connection: duckdb.DuckDBPyConnection, activity_ids: Iterable[Any]) -> int:
    """Forget ``activity_ids`` (SmashRun answered for them) and rows of runs no longer needing details."""
    ids = sorted({str(i) for i in activity_ids})
    row = connection.execute(load_sql("queries/details/clear_failures.sql"), {"activity_ids": ids}).fetchone()
    return int(row[0]) if row else 0


def settle_detail_fetches(
    connection: duckdb.DuckDBPyConnection,
    *,
    answered: Iterable[Any],
    failed: Iterable[tuple[Any, str]],
    max_attempts: int,
    now: datetime | None = None,
) -> None:
    """After one fetch batch, in one transaction: clear the ids SmashRun answered for, record the failed ones."""
    with transaction(connection):
        clear_detail_failures(connection, answered)
        record_detail_failures(connection, failed, max_attempts=max_attempts, now=now)


def list_detail_failures(connection: duckdb.DuckDBPyConnection, limit: int = 1000) -> list[DetailFailure]:
    """Failing ids of live runs: given-up ones first, then the most recent failures."""
    rows = connection.execute(load_sql("queries/details/list_failures.sql"), {"limit": max(0, int(limit))}).fetchall()
    return [DetailFailure(*row) for row in rows]


def detail_failure_report(
    connection: duckdb.DuckDBPyConnection, *, now: datetime | None = None, limit: int = 10
) -> DetailFailureReport:
    """Counts (``queries/details/failure_counts.sql``) and the first ``limit`` failures with their reasons."""
    cursor = connection.execute(load_sql("queries/details/failure_counts.sql"), {"now": _naive_utc(now)})
    names = [column[0] for column in cursor.description]
    counts = dict(zip(names, cursor.fetchone()))
    return DetailFailureReport(
        backing_off=int(counts["backing_off"]),
        waiting=int(counts["waiting"]),
        given_up=int(counts["given_up"]),
        given_up_ids=[str(i) for i in counts["given_up_ids"]],
        failures=list_detail_failures(connection, limit),
    )
