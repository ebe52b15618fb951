"""A detail id SmashRun keeps failing for (5xx, garbage, dropped connection) is isolated, over real HTTP.

The batch goes on without it and keeps what it fetched; the id is recorded (reason, attempts), skipped while it
backs off, retried, given up after ``max_attempts``, reported by the ``detail_fetch_failures`` check, and
cleared by a later success. The queue reads DuckDB's clock, so "time passes" moves the stored failure times back
(``time_passes``); the bookkeeping functions take ``now`` directly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import pytest

from myrunstreak_pipeline.defs.details import RAW_DETAILS, build_details_assets
from myrunstreak_pipeline.duckdb_ops import RunRepository
from myrunstreak_pipeline.duckdb_ops.detail_failures import (
    BACKOFF_CAP,
    backoff_delay,
    detail_failure_report,
    list_detail_failures,
    record_detail_failures,
    settle_detail_fetches,
    utc_now,
)
from myrunstreak_pipeline.smashrun.client import SmashRunClient
from myrunstreak_pipeline.smashrun.errors import SmashRunAuthError
from myrunstreak_pipeline.smashrun.oauth import UserToken
from myrunstreak_pipeline.smashrun.retry import RetryPolicy
from myrunstreak_pipeline_tests.fixtures import payloads

FAST = RetryPolicy(backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0, timeout=(2.0, 5.0))
DETAIL_PATH = "/v1/my/activities/{}"


def make_client(sb, **kwargs) -> SmashRunClient:
    kwargs.setdefault("retry", FAST)
    return SmashRunClient(sb.api_base, UserToken("test-token"), **kwargs)


def break_ids(sb, always_500: str, garbage: str, dropped: str) -> None:
    """Faults that never end, each on one activity's detail path only."""
    sb.inject(status=500, count=None, path_prefix=DETAIL_PATH.format(always_500))
    sb.inject_garbage(count=None, path_prefix=DETAIL_PATH.format(garbage))
    sb.inject_drop(count=None, path_prefix=DETAIL_PATH.format(dropped))


def detail_hits(sb, activity_id: str) -> list[int]:
    return [r.status for r in sb.requests if r.path == DETAIL_PATH.format(activity_id)]


def time_passes(con, delta: timedelta) -> None:
    """The clock moves on by ``delta`` for every recorded failure (the queue compares with DuckDB's now())."""
    con.execute(
        "UPDATE detail_failures SET first_failed_at = first_failed_at - ?, last_failed_at = last_failed_at - ?, "
        "next_attempt_at = next_attempt_at - ?",
        [delta, delta, delta],
    )


# ------------------------------------------------------------------------------------------- the client


def test_failing_ids_are_isolated_and_the_batch_goes_on(sandbox):
    client = make_client(sandbox)
    ids = [str(i) for i in sandbox.athlete.sorted_ids()[:8]]
    bad = {"500": ids[1], "garbage": ids[3], "drop": ids[5]}
    break_ids(sandbox, bad["500"], bad["garbage"], bad["drop"])

    batch = client.fetch_details(ids, budget=100)

    good = [i for i in ids if i not in bad.values()]
    assert batch.stopped_by is None and batch.remaining_ids == []
    assert [str(p["activityId"]) for p in batch.fetched] == good and batch.answered_ids == good
    reasons = dict(batch.failed)
    assert list(reasons) == [bad["500"], bad["garbage"], bad["drop"]]
    assert "HTTP 500" in reasons[bad["500"]]
    assert "not JSON" in reasons[bad["garbage"]] and "Bad Gateway" not in reasons[bad["garbage"]]  # no body text
    assert "could not reach SmashRun" in reasons[bad["drop"]]
    assert all("test-token" not in r and "/my/activities" not in r for r in reasons.values())
    # bounded per id: 500 -> 1 + 2 retries, a dropped connection -> 1 + 1, garbage (a 200) is not retried
    assert detail_hits(sandbox, bad["500"]) == [500, 500, 500]
    assert detail_hits(sandbox, bad["drop"]) == [0, 0]
    assert detail_hits(sandbox, bad["garbage"]) == [200]
    assert batch.requests_used == client.request_count == len(good) + 3 + 2 + 1


def test_failures_in_a_row_stop_the_batch_as_unavailable(sandbox):
    client = make_client(sandbox)
    ids = [str(i) for i in sandbox.athlete.sorted_ids()[:6]]
    sandbox.inject(status=503, count=None, path_prefix="/v1/my/activities/")  # SmashRun itself is down
    batch = client.fetch_details(ids, budget=100)
    assert batch.stopped_by == "unavailable"
    assert [i for i, _ in batch.failed] == ids[:3] and batch.remaining_ids == ids[3:]
    assert batch.fetched == [] and batch.answered_ids == []


def test_auth_errors_and_rate_limits_are_not_per_id_failures(sandbox):
    client = make_client(sandbox)
    ids = [str(i) for i in sandbox.athlete.sorted_ids()[:4]]
    sandbox.inject(status=429, count=None, retry_after=3600, path_prefix=DETAIL_PATH.format(ids[1]))
    batch = client.fetch_details(ids, budget=100)
    assert batch.stopped_by == "rate_limit" and batch.failed == [] and batch.remaining_ids == ids[1:]

    sandbox.clear_faults()
    sandbox.inject(status=401, count=None, path_prefix=DETAIL_PATH.format(ids[2]))
    with pytest.raises(SmashRunAuthError):  # a user problem: the step must fail
        client.fetch_details(ids, budget=100)


# ------------------------------------------------------------------------------------- the bookkeeping


def test_backoff_doubles_from_an_hour_and_is_capped_at_a_week(run_repository):
    con = run_repository.connection
    start = datetime(2024, 1, 1, 12, 0)
    for attempt in range(1, 11):
        now = start + timedelta(days=attempt)
        record_detail_failures(con, [("42", f"HTTP 500 #{attempt}")], max_attempts=10, now=now)
        [row] = con.execute("SELECT attempts, next_attempt_at, gave_up FROM detail_failures").fetchall()
        assert row == (attempt, now + backoff_delay(attempt), attempt == 10)
    assert [backoff_delay(n) for n in (1, 2, 3, 4)] == [timedelta(hours=h) for h in (1, 2, 4, 8)]
    assert backoff_delay(8) == timedelta(hours=128) and backoff_delay(9) == BACKOFF_CAP == timedelta(days=7)
    first = con.execute("SELECT first_failed_at FROM detail_failures").fetchone()[0]
    assert first == start + timedelta(days=1)
    with pytest.raises(ValueError):
        record_detail_failures(con, [("42", "x")], max_attempts=0)


def test_fetch_record_backoff_retry_give_up_and_clear(sandbox_factory, run_repository):
    sb = sandbox_factory(years=1, rate_limit=0)
    client = make_client(sb)
    con, repo = run_repository.connection, run_repository
    repo.upsert_activities(client.list_activities().activities)
    queue = repo.ids_needing_details(12)
    bad_500, bad_garbage, bad_drop = queue[2], queue[5], queue[8]  # among good ones, never three in a row
    bad = {bad_500, bad_garbage, bad_drop}
    day_ago = utc_now() - timedelta(days=1)
    assert all(repo.get_run_by_id(i)["updated_at_utc"] < day_ago for i in bad)  # "edited since" stays false
    break_ids(sb, bad_500, bad_garbage, bad_drop)

    def run_details(budget: int = 12) -> list[str]:
        """What the details asset does, with these plain functions."""
        pending = repo.ids_needing_details(budget)
        batch = client.fetch_details(pending, budget=100)
        repo.upsert_activities(batch.fetched + [raw for raw, _ in batch.rejects], payload_kind="detail")
        repo.mark_deleted(batch.missing)
        settle_detail_fetches(con, answered=batch.answered_ids, failed=batch.failed, max_attempts=3)
        return pending

    def failures() -> dict:
        return {f.activity_id: f for f in list_detail_failures(con)}

    def stored_details() -> set[str]:
        rows = con.execute("SELECT activity_id FROM raw_activities WHERE payload_kind = 'detail'").fetchall()
        return {row[0] for row in rows}

    needing = repo.count_needing_details()
    assert run_details() == queue
    assert stored_details() == set(queue) - bad  # the good ones are kept
    rows = failures()
    assert set(rows) == bad and all(f.attempts == 1 and not f.gave_up for f in rows.values())
    assert "HTTP 500" in rows[bad_500].last_reason and "not JSON" in rows[bad_garbage].last_reason
    assert "could not reach" in rows[bad_drop].last_reason
    assert all(f.next_attempt_at - f.last_failed_at == timedelta(hours=1) for f in rows.values())
    report = detail_failure_report(con)
    assert (report.backing_off, report.waiting, report.given_up) == (3, 3, 0)
    assert repo.count_needing_details() == needing - 12  # due now; the three wait outside the queue

    sb.clear_requests()
    assert bad.isdisjoint(run_details())  # backing off: not asked for
    assert all(detail_hits(sb, i) == [] for i in bad)

    time_passes(con, timedelta(minutes=61))
    sb.clear_faults()
    break_ids(sb, bad_500, bad_garbage, "0")  # the dropped one answers again
    assert bad <= set(run_details(budget=3))  # due again: first in the queue (newest)
    rows = failures()
    assert set(rows) == {bad_500, bad_garbage} and bad_drop in stored_details()  # a success clears the row
    assert all(f.attempts == 2 and f.next_attempt_at - f.last_failed_at == timedelta(hours=2) for f in rows.values())

    time_passes(con, timedelta(minutes=61))
    assert {bad_500, bad_garbage}.isdisjoint(run_details(budget=3))  # 2 h not over yet
    time_passes(con, timedelta(minutes=61))
    assert {bad_500, bad_garbage} <= set(run_details(budget=3))
    rows = failures()
    assert all(f.attempts == 3 and f.gave_up for f in rows.values())  # max_attempts=3: given up
    report = detail_failure_report(con)
    assert (report.backing_off, report.waiting, report.given_up) == (0, 0, 2)
    assert set(report.given_up_ids) == {bad_500, bad_garbage}

    time_passes(con, timedelta(hours=12))  # (all in all < 1 day: see "edited since" above)
    sb.clear_requests()
    assert {bad_500, bad_garbage}.isdisjoint(run_details(budget=3))  # given up: never asked for again
    assert detail_hits(sb, bad_500) == detail_hits(sb, bad_garbage) == []

    # An upstream edit is a new version: tried again at once, and its success clears the row.
    sb.clear_faults()
    sb.athlete.edit_activity(int(bad_500), notes="fixed upstream")
    repo.upsert_activities(client.list_activities().activities)
    assert repo.ids_needing_details(1) == [bad_500]
    assert detail_failure_report(con).given_up_ids == [bad_garbage]
    run_details(budget=1)
    assert set(failures()) == {bad_garbage} and bad_500 in stored_details()


def test_an_edited_run_that_fails_again_starts_counting_over(run_repository):
    con = run_repository.connection
    run_repository.upsert_activities([payloads.gps_run(7, updated="2024-01-03T00:00:00")])
    start = datetime(2024, 2, 1)
    for hours in range(3):
        record_detail_failures(con, [("7", "HTTP 503")], max_attempts=3, now=start + timedelta(hours=hours))
    assert list_detail_failures(con)[0].gave_up
    run_repository.upsert_activities([payloads.gps_run(7, updated="2024-03-01T00:00:00")])
    assert not list_detail_failures(con)[0].gave_up  # edited after it last failed: due again
    record_detail_failures(con, [("7", "HTTP 502")], max_attempts=3, now=datetime(2024, 3, 2))
    [row] = list_detail_failures(con)
    assert (row.attempts, row.first_failed_at, row.last_reason, row.gave_up) == (
        1,
        datetime(2024, 3, 2),
        "HTTP 502",
        False,
    )
    run_repository.mark_deleted(["7"])
    settle_detail_fetches(con, answered=[], failed=[], max_attempts=3)
    assert list_detail_failures(con) == []  # rows of runs deleted upstream are dropped


# ----------------------------------------------------------------------------------------------- Dagster


def _materialize_details(pipeline) -> dg.ExecuteInProcessResult:
    return dg.materialize(  # the details step alone, with the resources built from the environment now
        [build_details_assets()],
        instance=pipeline.instance,
        resources=pipeline.defs().resources,
        raise_on_error=False,
    )


def test_details_step_succeeds_reports_failures_and_the_check_warns(pipeline):
    pipeline.monkeypatch.setenv("MYRUNSTREAK_DETAIL_BUDGET", "0")  # runs only, then details on their own
    pipeline.monkeypatch.delenv("MYRUNSTREAK_DETAIL_MAX_ATTEMPTS", raising=False)
    assert pipeline.materialize_full().success
    with pipeline.connect() as con:
        queue = RunRepository(con).ids_needing_details(20)
    bad = [queue[1], queue[4], queue[7]]
    break_ids(pipeline.sandbox, *bad)
    pipeline.monkeypatch.setenv("MYRUNSTREAK_DETAIL_BUDGET", "20")

    result = _materialize_details(pipeline)

    assert result.success
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == RAW_DETAILS.key]
    meta = {key: value.value for key, value in event.materialization.metadata.items()}
    assert (meta["details_failed"], meta["details_backing_off"], meta["details_given_up"]) == (3, 3, 0)
    assert meta["details_loaded"] > 0 and meta["stopped_by"] == "budget"
    listed = {item["activity_id"]: item for item in meta["detail_failures"]}
    assert set(listed) == set(bad) and all(item["attempts"] == 1 and item["reason"] for item in listed.values())
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "detail_fetch_failures"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["backing_off"].value == 3 and check.metadata["given_up_ids"].value == []
    with pipeline.connect() as con:
        stored = {
            row[0]
            for row in con.execute("SELECT activity_id FROM raw_activities WHERE payload_kind = 'detail'").fetchall()
        }
        assert stored and stored.isdisjoint(bad)

    # An hour later, with MYRUNSTREAK_DETAIL_MAX_ATTEMPTS=2: the second failure gives them up; the check lists them.
    with pipeline.connect(read_only=False) as con:
        time_passes(con, timedelta(minutes=61))
    pipeline.monkeypatch.setenv("MYRUNSTREAK_DETAIL_MAX_ATTEMPTS", "2")
    result = _materialize_details(pipeline)
    assert result.success
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "detail_fetch_failures"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert sorted(check.metadata["given_up_ids"].value) == sorted(bad) and check.metadata["max_attempts"].value == 2


def test_an_auth_error_still_fails_the_details_step(pipeline):
    pipeline.monkeypatch.setenv("MYRUNSTREAK_DETAIL_BUDGET", "0")
    assert pipeline.materialize_full().success
    pipeline.monkeypatch.setenv("MYRUNSTREAK_DETAIL_BUDGET", "20")
    pipeline.sandbox.inject(status=401, count=None, path_prefix="/v1/my/activities/")
    result = _materialize_details(pipeline)
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert "SmashRunAuthError" in failure.event_specific_data.error.to_string()
    with pipeline.connect() as con:
        assert con.execute("SELECT count(*) FROM detail_failures").fetchone()[0] == 0
