"""SmashRunClient over real HTTP against the sandbox: syncs, paging, retries, errors, budgets."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline.smashrun.client import SmashRunClient
from myrunstreak_pipeline.smashrun.errors import (
    InvalidActivityError,
    SmashRunAuthError,
    SmashRunBadResponseError,
    SmashRunNotFoundError,
    SmashRunRateLimitedError,
    SmashRunUnavailableError,
)
from myrunstreak_pipeline.smashrun.oauth import UserToken
from myrunstreak_pipeline.smashrun.results import deleted_ids
from myrunstreak_pipeline.smashrun.retry import RetryPolicy

# Real sleeps, just short: backoff 10 ms doubling, capped at 50 ms.
FAST = RetryPolicy(backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0, timeout=(2.0, 5.0))


def make_client(sb, token: str = "test-token", **kwargs) -> SmashRunClient:
    kwargs.setdefault("retry", FAST)
    return SmashRunClient(sb.api_base, UserToken(token), **kwargs)


def local_date(payload: dict) -> str:
    return payload["startDateTimeLocal"][:10]


def expected_window(sb, start: date, end_exclusive: date) -> list[dict]:
    return [p for p in sb.athlete.visible_activities if start.isoformat() <= local_date(p) < end_exclusive.isoformat()]


def api_requests(sb) -> list:
    return [r for r in sb.requests if r.path.startswith("/v1/")]


# ------------------------------------------------------------------------------------------- full sync


def test_full_sync_is_one_unpaged_request_returning_raw_dicts(sandbox):
    client = make_client(sandbox)
    result = client.list_activities()

    assert result.rejects == []
    assert result.requests_used == 1 == client.request_count
    expected = [sandbox.athlete.extended(i) for i in sandbox.athlete.sorted_ids()]
    assert len(result.activities) == len(expected) > 500
    assert result.activities == expected  # raw payloads, unchanged (no model dump, no coercion)
    [record] = api_requests(sandbox)
    assert (record.path, record.query, record.status) == ("/v1/my/activities/search/extended", {}, 200)


def test_summary_and_briefs_styles(sandbox):
    client = make_client(sandbox)
    summary = client.list_activities(style="summary")
    briefs = client.list_activities(style="briefs")
    assert len(summary.activities) == len(briefs.activities) == len(sandbox.athlete.sorted_ids())
    assert "moonPhase" not in summary.activities[0] and set(briefs.activities[0]) <= {
        "activityId",
        "startDateTimeLocal",
        "distance",
        "duration",
    }
    with pytest.raises(ValueError, match="unknown listing style"):
        client.list_activities(style="foobar")


def test_from_settings_reads_the_environment(sandbox, monkeypatch):
    monkeypatch.setenv("SMASHRUN_API_BASE", sandbox.api_base)
    monkeypatch.setenv("SMASHRUN_ACCESS_TOKEN", "test-token")
    client = SmashRunClient.from_settings(retry=FAST)
    assert client.userinfo()["userName"] == sandbox.athlete.user_name

    for name in ("SMASHRUN_ACCESS_TOKEN", "SMASHRUN_CLIENT_ID", "SMASHRUN_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MyRunStreakError, match="no SmashRun credentials") as info:
        SmashRunClient.from_settings(Settings.from_env())
    assert "myrunstreak auth" in info.value.hint


def test_refuses_plain_http_to_a_remote_host():
    with pytest.raises(MyRunStreakError, match="plain HTTP"):
        SmashRunClient("http://api.example.com/v1", UserToken("t"))


# ---------------------------------------------------------------------------------------- incremental


def test_incremental_sync_catches_edits_additions_and_deletions(sandbox):
    client = make_client(sandbox)
    first = client.list_activities()
    stored = {str(p["activityId"]): p for p in first.activities}

    sandbox.clock.advance(2 * 86400)
    cursor = sandbox.clock.timestamp()  # what the sensor would persist after the first sync
    sandbox.clock.advance(86400)
    ids = sandbox.athlete.sorted_ids()
    old_run, doomed = (ids[-1], ids[len(ids) // 2])  # the oldest run is edited; a middle one deleted
    sandbox.athlete.edit_activity(old_run, notes="edited years later", distance=12.5)
    template = dict(sandbox.athlete.summary(ids[0]))
    template.pop("activityId")
    template["startDateTimeLocal"] = sandbox.clock.now().strftime("%Y-%m-%dT06:30:00+00:00")
    new_id = sandbox.athlete.add_activity(template)
    sandbox.athlete.delete_activity(doomed)

    sandbox.clear_requests()
    changed = client.list_updated_since(cursor)  # default 1 h look-back margin
    assert {p["activityId"] for p in changed.activities} == {old_run, new_id}
    assert changed.requests_used == 1 and changed.rejects == []
    edited = next(p for p in changed.activities if p["activityId"] == old_run)
    assert edited["notes"] == "edited years later" and edited["distance"] == 12.5
    [record] = api_requests(sandbox)
    assert record.query == {"fromDateUTC": str(int(cursor - 3600))}

    upstream = client.list_ids()
    assert all(isinstance(i, str) for i in upstream)
    assert deleted_ids(stored.keys(), upstream) == {str(doomed)}
    assert str(new_id) in upstream


def test_deleted_ids_helper_normalises_to_strings():
    assert deleted_ids({"1", "2", "3"}, [1, 3, 4]) == {"2"}
    assert deleted_ids(set(), [1]) == set()


# --------------------------------------------------------------------------------------------- paging


@pytest.mark.parametrize("count, expected_requests", [(0, 1), (100, 2), (101, 2), (250, 3)])
def test_window_paging_boundaries(sandbox, sandbox_factory, count, expected_requests):
    payloads = sandbox.athlete.visible_activities[:count]
    sb = sandbox_factory(activities=payloads, rate_limit=None)
    start = date(1970, 1, 2) if not payloads else date.fromisoformat(local_date(payloads[-1]))
    end = date(2100, 1, 1)
    client = make_client(sb, max_window_pages=5)

    result = client.list_activities_in_window(start, end)

    assert [p["activityId"] for p in result.activities] == [p["activityId"] for p in payloads]
    assert result.requests_used == expected_requests
    pages = [r.query for r in api_requests(sb)]
    assert pages == [{"page": str(i), "count": "100"} for i in range(expected_requests)]


def test_window_paging_stops_once_past_start(sandbox):
    client = make_client(sandbox)
    today = sandbox.clock.now().date()
    for days_back, pages in ((20, 1), (150, 2)):
        sandbox.clear_requests()
        start, end = today - timedelta(days=days_back), today - timedelta(days=5)
        result = client.list_activities_in_window(start, end)
        assert result.activities == expected_window(sandbox, start, end) != []
        assert result.requests_used == pages
        assert all(r.query.get("count") == "100" for r in api_requests(sandbox))


def test_window_listed_by_utc_instant_keeps_runs_of_far_east_zones(sandbox, sandbox_factory):
    # Listed by UTC instant, a New Year's Eve run in New York (01:00 UTC Jan 1) comes BEFORE a New Year's Day
    # run in Auckland (11:30 UTC Dec 31): local dates are not monotonic. A page ending on the New York run
    # must not end the 2024 window's paging, or the Auckland run (dated 2024-01-01) is missed.
    template = {k: v for k, v in sandbox.athlete.summary(sandbox.athlete.sorted_ids()[0]).items() if k != "activityId"}
    starts = (
        [f"2024-01-0{d}T07:00:00-05:00" for d in (5, 4, 3, 2)]
        + ["2023-12-31T20:00:00-05:00", "2024-01-01T00:30:00+13:00"]
        + [f"2023-12-{d:02d}T07:00:00-05:00" for d in range(29, 19, -1)]
    )
    payloads = [dict(template, activityId=100 + i, startDateTimeLocal=s) for i, s in enumerate(starts)]
    sb = sandbox_factory(activities=payloads, rate_limit=None)
    sb.list_by_utc_instant = True
    client = make_client(sb, page_size=5)

    result = client.list_activities_in_window(date(2024, 1, 1), date(2024, 2, 1))

    assert sorted(p["activityId"] for p in result.activities) == [100, 101, 102, 103, 105]
    assert result.requests_used == 2  # the page ending on Dec 31 (New York) was not taken as the end


def test_window_far_in_the_past_falls_back_to_one_unpaged_call(sandbox):
    client = make_client(sandbox)
    start, end = (date.fromisoformat(local_date(sandbox.athlete.visible_activities[-1])), None)
    end = start + timedelta(days=31)
    result = client.list_activities_in_window(start, end)
    assert result.activities == expected_window(sandbox, start, end) != []
    assert result.requests_used == 2  # page 0 shows it is ~8 pages away -> one unpaged listing
    assert [r.query for r in api_requests(sandbox)] == [{"page": "0", "count": "100"}, {}]


def test_window_runs_out_of_pages_then_falls_back(sandbox):
    client = make_client(sandbox, max_window_pages=1)
    today = sandbox.clock.now().date()
    start, end = today - timedelta(days=150), today
    result = client.list_activities_in_window(start, end)
    assert result.activities == expected_window(sandbox, start, end)
    assert [r.query for r in api_requests(sandbox)] == [{"page": "0", "count": "100"}, {}]


# ----------------------------------------------------------------------------------------- validation


def test_invalid_items_are_rejects_with_reasons_without_values(sandbox):
    ids = sandbox.athlete.sorted_ids()
    bad = ids[3]
    sandbox.athlete.edit_activity(bad, isBadElevation="SECRET-LOOKING-VALUE")
    client = make_client(sandbox)

    result = client.list_activities()
    assert len(result.activities) == len(ids) - 1
    [(raw, reason)] = result.rejects
    assert raw["activityId"] == bad and raw["isBadElevation"] == "SECRET-LOOKING-VALUE"  # raw item kept as received
    assert "isBadElevation" in reason and "SECRET-LOOKING-VALUE" not in reason

    with pytest.raises(InvalidActivityError) as info:
        client.get_activity(bad)
    assert info.value.payload["activityId"] == bad and "SECRET-LOOKING-VALUE" not in str(info.value)

    batch = client.fetch_details([ids[0], bad, ids[1]], budget=10)
    assert [p["activityId"] for p in batch.fetched] == [ids[0], ids[1]]
    assert [raw["activityId"] for raw, _ in batch.rejects] == [bad]


# ---------------------------------------------------------------------------------- retries and errors


def test_429_retry_after_is_honoured(sandbox):
    client = make_client(sandbox)
    sandbox.inject(status=429, count=1, retry_after=1)
    started = time.monotonic()
    info = client.userinfo()
    waited = time.monotonic() - started
    assert info["userName"] == sandbox.athlete.user_name
    assert 0.95 <= waited < 3.0  # slept the server's Retry-After, not the 10 ms backoff
    assert client.request_count == 2
    assert [r.status for r in api_requests(sandbox)] == [429, 200]


def test_retry_after_beyond_the_cap_fails_at_once(sandbox):
    client = make_client(sandbox)
    sandbox.inject(status=429, count=1, retry_after=3600)
    started = time.monotonic()
    with pytest.raises(SmashRunRateLimitedError) as info:
        client.list_ids()
    assert time.monotonic() - started < 1.0
    assert (info.value.status, info.value.retry_after, info.value.path) == (429, 3600, "/my/activities/search/ids")
    assert client.request_count == 1


def test_503_then_success(sandbox):
    client = make_client(sandbox)
    sandbox.inject(status=503, count=2)
    assert len(client.list_ids()) == len(sandbox.athlete.sorted_ids())
    assert client.request_count == 3
    assert [r.status for r in api_requests(sandbox)] == [503, 503, 200]


def test_persistent_500_is_a_clear_failure_after_a_few_retries(sandbox):
    client = make_client(sandbox)
    sandbox.inject(status=500, count=None)
    with pytest.raises(SmashRunUnavailableError) as info:
        client.list_activities()
    assert (info.value.status, info.value.path) == (500, "/my/activities/search/extended")
    assert "HTTP 500" in str(info.value)
    assert client.request_count == 1 + FAST.status == len(api_requests(sandbox))


def test_garbage_json_is_a_clear_error(sandbox):
    client = make_client(sandbox)
    sandbox.inject_garbage(count=1)
    with pytest.raises(SmashRunBadResponseError, match="not JSON") as info:
        client.list_activities()
    assert info.value.status == 200 and client.request_count == 1


def test_4xx_fail_fast(sandbox):
    client = make_client(sandbox)
    with pytest.raises(SmashRunNotFoundError) as info:
        client.get_activity(12345)
    assert (info.value.status, info.value.path) == (404, "/my/activities/12345")
    sandbox.inject(status=403, count=1)
    with pytest.raises(MyRunStreakError, match="HTTP 403") as info:
        client.userinfo()
    assert info.value.status == 403 and info.value.hint
    sandbox.inject(status=400, count=1)
    with pytest.raises(MyRunStreakError, match="HTTP 400"):
        client.list_ids()
    assert client.request_count == 3  # no retries


def test_dropped_connection_and_slow_response_are_retried(sandbox):
    client = make_client(sandbox, retry=RetryPolicy(backoff_factor=0.01, backoff_jitter=0.0, timeout=(2.0, 0.5)))
    sandbox.inject_drop(count=1)
    assert client.userinfo()["userName"] == sandbox.athlete.user_name
    sandbox.inject_delay(1.5, count=1)
    assert client.userinfo()["userName"] == sandbox.athlete.user_name
    assert client.request_count == 4


def test_unreachable_server_is_a_clear_error(sandbox_factory):
    sb = sandbox_factory()
    api_base = sb.api_base
    sb.stop()
    client = SmashRunClient(api_base, UserToken("test-token"), retry=FAST)
    with pytest.raises(SmashRunUnavailableError, match="could not reach SmashRun"):
        client.userinfo()


def test_user_level_token_rejected_is_a_clear_error(sandbox):
    secret = "user-level-token-that-must-not-leak"
    client = make_client(sandbox, token=secret)
    with pytest.raises(SmashRunAuthError) as info:
        client.list_activities()
    error = info.value
    assert error.status == 401 and "SMASHRUN_ACCESS_TOKEN" in error.hint
    assert secret not in f"{error} {error!r} {error.hint} {client!r}"
    assert client.request_count == 1  # no refresh is possible, so no retry


def test_token_goes_in_the_authorization_header_only(sandbox):
    client = make_client(sandbox)
    client.list_activities_in_window(date(2000, 1, 1), date(2000, 2, 1))
    client.list_ids()
    client.get_activity(sandbox.athlete.sorted_ids()[0])
    assert api_requests(sandbox) and all("access_token" not in r.query for r in sandbox.requests)


# ------------------------------------------------------------------------------------ budgeted details


def test_budgeted_detail_fetch_stops_and_resumes(sandbox):
    client = make_client(sandbox)
    ids = client.list_ids()[:7]
    gone = ids[2]
    sandbox.athlete.delete_activity(int(gone))

    first = client.fetch_details(ids, budget=4)
    assert first.stopped_by == "budget" and first.requests_used == 4
    assert [str(p["activityId"]) for p in first.fetched] == [ids[0], ids[1], ids[3]]
    assert first.missing == [gone] and first.remaining_ids == ids[4:]
    assert all("recordingKeys" in p and "laps" in p for p in first.fetched)

    second = client.fetch_details(first.remaining_ids, budget=10)
    assert second.stopped_by is None and second.remaining_ids == []
    assert [str(p["activityId"]) for p in second.fetched] == ids[4:]
    assert second.requests_used == 3
    assert second.fetched[0] == sandbox.athlete.get(int(ids[4]))  # the raw full payload


def test_detail_fetch_stops_cleanly_at_the_servers_rate_limit(sandbox_factory):
    sb = sandbox_factory(years=1, rate_limit=3)
    client = make_client(sb)
    ids = [str(i) for i in sb.athlete.sorted_ids()[:6]]
    batch = client.fetch_details(ids, budget=100)
    assert batch.stopped_by == "rate_limit"
    assert len(batch.fetched) == 3 and batch.remaining_ids == ids[3:]
