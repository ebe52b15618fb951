"""Monotonic updates ("Trust at the edges", item 5): a stored activity is replaced only by a newer version.

The stamp is SmashRun's dateUpdatedUTC (bumped by every edit, delete and undelete); deletions carry the time they
were observed (deleted_as_of_utc). The rule lives in sql/queries/repository/staged_verdicts.sql. Properties
(Hypothesis, derandomized): any order and any batching of the same versions and deletions gives the runs rows
that applying them in stamp order gives; re-applying batches is a no-op (every row, load timestamps included).

Versions are a function of (activity id, stamp), as upstream: one dateUpdatedUTC is one version, listed as a
summary (the extended listing the ingest uses, so with the extended keys) or fetched as a detail (plus laps and
a recording). Each id is first stored from its unstamped summary: a deletion only ever concerns a stored run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline_tests.fixtures import payloads

IDS = ("7001", "7002", "7003")
DAYS = {activity_id: date(2024, 5, 1 + n) for n, activity_id in enumerate(IDS)}  # one window per id
BASE = datetime(2024, 5, 10, 12, 0)
STAMPS = [BASE + timedelta(seconds=10 * n) for n in range(4)]  # a small pool: ties are common
AS_OF = STAMPS + [stamp + timedelta(seconds=5) for stamp in STAMPS]  # deletions at and between stamps
DATA_TABLES = ("runs", "laps", "recording_data", "raw_activities", "quarantine", "sync_state")
LOAD_COLUMNS = "first_loaded_at, last_loaded_at"
PROPERTY = settings(derandomize=True, deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])


def version(activity_id: str, stamp: datetime | None, kind: str = "summary", **changes: Any) -> dict:
    """The payload of ``activity_id``'s version stamped ``stamp`` (None: no dateUpdatedUTC)."""
    n = 0 if stamp is None else STAMPS.index(stamp) + 1
    distance, duration = 5.0 + n, 1500.0 + 60 * n
    fields = {
        "startDateTimeLocal": f"{DAYS[activity_id]}T07:00:00-05:00",
        "distance": distance,
        "duration": duration,
        "notes": f"version {n}",
        "city": f"City {n}",
        "elevationGain": 80 + n,
        "dateUpdatedUTC": stamp.isoformat(timespec="milliseconds") if stamp else None,
    }
    payload = payloads.extended_run(int(activity_id), **{**fields, **changes})
    if kind == "detail":
        laps = [
            {"lapType": "general", "endDuration": duration * k / (n + 1), "endDistance": distance * k / (n + 1)}
            for k in range(1, n + 2)
        ]
        payload.update(payloads.recording(3 + n), pauseIndexes=[1], laps=laps, songs=[], heartRateRecovery=None)
    return payload


@dataclass(frozen=True)
class Payload:
    activity_id: str
    stamp: datetime | None
    kind: str  # 'summary' | 'detail'


@dataclass(frozen=True)
class Deletion:
    activity_id: str
    as_of: datetime
    via: str  # 'mark' (details 404) | 'window' (a listing without the run)


def stamp_order(event: Payload | Deletion) -> tuple:
    """Upstream order: unstamped first, then by stamp; at one instant the summary, the detail, then a deletion
    observed then (the deletion stamp is at or before its observation)."""
    if isinstance(event, Payload):
        return (event.stamp is not None, event.stamp or BASE, 0, event.kind == "detail")
    return (True, event.as_of, 1, False)


events = st.lists(
    st.one_of(
        st.builds(
            Payload, st.sampled_from(IDS), st.sampled_from([None, *STAMPS]), st.sampled_from(["summary", "detail"])
        ),
        st.builds(Deletion, st.sampled_from(IDS), st.sampled_from(AS_OF), st.sampled_from(["mark", "window"])),
    ),
    min_size=1,
    max_size=8,
)


def batches(order: list, cuts: list[bool]) -> list[list]:
    """Consecutive payloads of one kind share a batch unless cut; each deletion is a step of its own."""
    grouped: list[list] = []
    for event, cut in zip(order, cuts):
        last = grouped[-1] if grouped else None
        joinable = (
            last is not None
            and not cut
            and isinstance(event, Payload)
            and isinstance(last[0], Payload)
            and last[0].kind == event.kind
        )
        if joinable:
            last.append(event)
        else:
            grouped.append([event])
    return grouped


def apply(repo: RunRepository, steps: list[list]) -> None:
    for step in steps:
        first = step[0]
        if isinstance(first, Payload):
            items = [version(e.activity_id, e.stamp, e.kind) for e in step]
            repo.upsert_activities(items, payload_kind=first.kind)
        elif first.via == "mark":
            repo.mark_deleted([first.activity_id], as_of=first.as_of)
        else:
            day = DAYS[first.activity_id]
            repo.replace_window(day, day + timedelta(days=1), [], listed_at=first.as_of)


def runs_rows(repo: RunRepository) -> list[tuple]:
    return repo.connection.execute(f"SELECT * EXCLUDE ({LOAD_COLUMNS}) FROM runs ORDER BY activity_id").fetchall()


def details(repo: RunRepository, activity_ids: list[str]) -> list[tuple]:
    """Laps, recording and raw detail payload of ``activity_ids``."""
    ids = sorted(activity_ids)
    con = repo.connection
    return [
        con.execute("SELECT * FROM laps WHERE list_contains(?, activity_id) ORDER BY ALL", [ids]).fetchall(),
        con.execute("SELECT * FROM recording_data WHERE list_contains(?, activity_id) ORDER BY ALL", [ids]).fetchall(),
        con.execute(
            "SELECT activity_id, payload, updated_at_utc FROM raw_activities"
            " WHERE payload_kind = 'detail' AND list_contains(?, activity_id) ORDER BY ALL",
            [ids],
        ).fetchall(),
    ]


def newest_is_a_detail(happened: list) -> list[str]:
    """Ids whose newest (stamped) version was fetched as a detail: its laps and recording must be stored."""
    newest: dict[str, datetime] = {}
    for event in happened:
        if isinstance(event, Payload) and event.stamp is not None:
            newest[event.activity_id] = max(newest.get(event.activity_id, event.stamp), event.stamp)
    return sorted(
        {
            e.activity_id
            for e in happened
            if isinstance(e, Payload)
            and e.kind == "detail"
            and e.stamp is not None
            and e.stamp == newest[e.activity_id]
        }
    )


def everything(repo: RunRepository) -> dict[str, list[tuple]]:
    """Every row of every data table, load timestamps included (the 'checksum' of the database)."""
    return {table: repo.connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in DATA_TABLES}


def reset(repo: RunRepository) -> RunRepository:
    """Back to the seed: every id stored from its unstamped summary (copied from the first real load: fast)."""
    for table in DATA_TABLES:
        repo.connection.execute(f"DELETE FROM {table}")
    for table in ("runs", "raw_activities"):
        repo.connection.execute(f"INSERT INTO {table} SELECT * FROM seed_{table}")
    return repo


@pytest.fixture(scope="module")
def repos() -> Iterator[tuple[RunRepository, RunRepository]]:
    with DuckDBManager() as reference, DuckDBManager() as shuffled:
        pair = RunRepository(reference.connection), RunRepository(shuffled.connection)
        for repo in pair:
            repo.upsert_activities([version(activity_id, None) for activity_id in IDS])
            for table in ("runs", "raw_activities"):
                repo.connection.execute(f"CREATE TEMP TABLE seed_{table} AS SELECT * FROM {table}")
        yield pair


# --- properties ---------------------------------------------------------------------------------------------
@PROPERTY
@given(data=st.data())
def test_any_order_and_batching_gives_the_stamp_order_result_and_replays_are_no_ops(repos, data):
    happened = data.draw(events, label="events")
    order = data.draw(st.permutations(happened), label="order")
    cuts = data.draw(st.lists(st.booleans(), min_size=len(order), max_size=len(order)), label="cuts")
    reference, shuffled = reset(repos[0]), reset(repos[1])
    apply(reference, [[event] for event in sorted(happened, key=stamp_order)])
    steps = batches(order, cuts)
    apply(shuffled, steps)
    assert runs_rows(shuffled) == runs_rows(reference)
    # Laps and recordings are the newest detail's once that detail is the run's version (an older detail is
    # skipped, so before that they depend on the order; the detail queue re-fetches those runs).
    with_details = newest_is_a_detail(happened)
    assert details(shuffled, with_details) == details(reference, with_details)
    assert len(details(shuffled, with_details)[2]) == len(with_details)
    settled = everything(shuffled)
    apply(shuffled, steps[-1:])  # the last batch again (an S3 conflict retry)
    assert everything(shuffled) == settled
    apply(shuffled, steps[:1])  # and the first, the oldest write (a slow writer)
    assert everything(shuffled) == settled


@settings(PROPERTY, max_examples=30)
@given(as_of=st.sampled_from(AS_OF), stamp=st.sampled_from(STAMPS), via=st.sampled_from(["mark", "window"]))
def test_a_deletion_observed_at_t_is_undone_only_by_a_payload_stamped_after_t(repos, as_of, stamp, via):
    repo = reset(repos[0])
    apply(repo, [[Deletion("7001", as_of, via)]])
    repo.upsert_activities([version("7001", stamp)])
    row = repo.get_run_by_id("7001")
    assert row["updated_at_utc"] == stamp  # the version itself is stored either way (it is the newest data)
    if stamp > as_of:
        assert row["deleted"] is False and row["deleted_as_of_utc"] is None
    else:
        assert row["deleted"] is True and row["deleted_as_of_utc"] == as_of


# --- the reported bug and the rules, one by one -------------------------------------------------------------
def test_an_edit_followed_by_the_original_keeps_the_edit(run_repository: RunRepository):
    original = payloads.gps_run(31, notes="", updated="2024-05-01T10:00:00")
    edited = payloads.gps_run(31, notes="hill repeats", distance=10.5, updated="2024-05-02T08:30:00.25")
    assert run_repository.upsert_activities([edited]).stale == 0
    result = run_repository.upsert_activities([original])  # a slow writer / a retry with an older listing
    assert result.stale == 1 and result.loaded == 0
    row = run_repository.get_run_by_id(31)
    assert row["notes"] == "hill repeats" and row["distance_km"] == 10.5
    stored = run_repository.connection.execute("SELECT payload FROM raw_activities").fetchone()[0]
    assert "hill repeats" in stored  # the raw payload is not reverted either


def test_an_equal_stamp_summary_is_a_no_op_that_changes_nothing(run_repository: RunRepository):
    run_repository.upsert_activities([payloads.gps_run(1)])
    before = everything(run_repository)
    result = run_repository.upsert_activities([payloads.gps_run(1, notes="same stamp, other text")])
    assert result.loaded == 1 and result.stale == 0  # already stored at this version: current, not stale
    assert everything(run_repository) == before  # not even last_loaded_at moves


def test_a_detail_with_the_summary_stamp_is_applied_once(run_repository: RunRepository):
    stamp = STAMPS[1]
    run_repository.upsert_activities([version("7001", stamp)])
    run_repository.upsert_activities([version("7001", stamp, "detail")], payload_kind="detail")
    counts = run_repository.table_counts()
    assert counts["laps"] == 3 and counts["recording_data"] == 1 and counts["raw_activities"] == 2
    before = everything(run_repository)
    run_repository.upsert_activities([version("7001", stamp, "detail")], payload_kind="detail")  # re-fetched
    assert everything(run_repository) == before
    changed = version("7001", stamp, "detail", notes="same stamp, new detail text")
    run_repository.upsert_activities([changed], payload_kind="detail")  # equal but not identical: applied
    assert run_repository.get_run_by_id("7001")["notes"] == "same stamp, new detail text"


def test_a_stale_detail_touches_neither_the_run_nor_its_laps_recording_or_raw_detail(run_repository: RunRepository):
    old, new = STAMPS[0], STAMPS[2]
    run_repository.upsert_activities([version("7001", old, "detail")], payload_kind="detail")
    run_repository.upsert_activities([version("7001", new)])  # edited upstream: newer summary
    before = everything(run_repository)
    older = version("7001", old, "detail", notes="stale detail")
    result = run_repository.upsert_activities([older], payload_kind="detail")
    assert result.stale == 1 and everything(run_repository) == before
    # a detail older than the run but newer than the stored detail is still stale: the run decides
    run_repository.upsert_activities([version("7001", STAMPS[1], "detail")], payload_kind="detail")
    assert everything(run_repository) == before


def test_unstamped_payloads(run_repository: RunRepository):
    run_repository.upsert_activities([payloads.gps_run(1, notes="stamped")])
    result = run_repository.upsert_activities([payloads.gps_run(1, notes="unstamped", dateUpdatedUTC=None)])
    assert result.stale == 1 and run_repository.get_run_by_id(1)["notes"] == "stamped"
    run_repository.upsert_activities([payloads.gps_run(2, notes="first", dateUpdatedUTC=None)])
    run_repository.upsert_activities([payloads.gps_run(2, notes="second", dateUpdatedUTC=None)])
    assert run_repository.get_run_by_id(2)["notes"] == "second"  # unstamped over unstamped: last write wins
    run_repository.upsert_activities([payloads.gps_run(2, notes="stamped now")])
    assert run_repository.get_run_by_id(2)["notes"] == "stamped now"  # a stamp beats no stamp


def test_an_older_listing_does_not_flag_a_run_loaded_from_a_newer_one(run_repository: RunRepository):
    day = DAYS["7001"]
    run_repository.upsert_activities([version("7001", STAMPS[2])])
    window = (day, day + timedelta(days=1), [])
    assert run_repository.replace_window(*window, listed_at=STAMPS[1]).marked_deleted == 0
    assert run_repository.get_run_by_id("7001")["deleted"] is False
    assert run_repository.replace_window(*window, listed_at=STAMPS[3]).marked_deleted == 1
    assert run_repository.replace_window(*window, listed_at=STAMPS[2]).marked_deleted == 0  # older: no change
    assert run_repository.get_run_by_id("7001")["deleted_as_of_utc"] == STAMPS[3]
    assert run_repository.mark_deleted(["7001"], as_of=STAMPS[3] + timedelta(seconds=5)) == 0  # re-observed
    assert run_repository.get_run_by_id("7001")["deleted_as_of_utc"] == STAMPS[3] + timedelta(seconds=5)


def test_a_conflict_retry_with_an_older_listing_changes_nothing(run_repository: RunRepository):
    """Writer A listed at T1; writer B listed later (an edit of 7001, 7002 deleted meanwhile) and published
    first; the S3 storage re-applies A's batch to B's database: B's newer state stands."""
    day, end = DAYS["7001"], DAYS["7003"] + timedelta(days=1)
    seed = [version("7001", STAMPS[0]), version("7002", STAMPS[0]), version("7003", STAMPS[0])]
    run_repository.upsert_activities(seed)
    listing_a = [version("7001", STAMPS[0]), version("7002", STAMPS[0]), version("7003", STAMPS[0])]
    listing_b = [version("7001", STAMPS[2]), version("7003", STAMPS[0])]
    assert run_repository.replace_window(day, end, listing_b, listed_at=STAMPS[3]).marked_deleted == 1
    published = everything(run_repository)
    result = run_repository.replace_window(day, end, listing_a, listed_at=STAMPS[1])
    assert result.stale == 1 and result.marked_deleted == 0
    assert everything(run_repository) == published
