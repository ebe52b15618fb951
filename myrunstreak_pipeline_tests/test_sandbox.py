"""The SmashRun sandbox over real HTTP (requests against 127.0.0.1), per docs/smashrun-api.md §10."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from myrunstreak_pipeline.sandbox import MILE_KM, TWELVE_WEEKS, Athlete, SandboxClock, SandboxServer

AUTH = {"Authorization": "Bearer test-token"}
TODAY = date(2026, 3, 20)
LOCAL_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:00[+-]\d\d:\d\d$")
UTC_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?$")


def get(sb, path, token="test-token", **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{sb.api_base}{path}", headers=headers, params=params, timeout=10)


# --------------------------------------------------------------------------------------------- listing


def test_paging_count_100_until_empty_equals_unpaged_newest_first(sandbox):
    everything = get(sandbox, "/my/activities/search").json()
    assert len(everything) == len(sandbox.athlete.visible_activities) > 600
    starts = [a["startDateTimeLocal"][:16] for a in everything]
    assert starts == sorted(starts, reverse=True)  # newest first by the local start

    sandbox.clear_requests()
    paged, page = [], 0
    while page < 50:
        batch = get(sandbox, "/my/activities/search", page=page, count=100).json()
        if batch == []:
            break
        assert len(batch) == 100 or len(batch) == len(everything) % 100
        paged += batch
        page += 1
    assert paged == everything
    assert len(sandbox.requests) == len(everything) // 100 + 2  # full pages, the short one, then []
    assert [r.query["page"] for r in sandbox.requests] == [str(p) for p in range(page + 1)]


def test_count_is_clamped_and_page_alone_uses_default_count(sandbox):
    everything = get(sandbox, "/my/activities/search/ids").json()
    assert get(sandbox, "/my/activities/search/ids", page=0, count=500).json() == everything[:100]
    assert get(sandbox, "/my/activities/search/ids", page=2).json() == everything[200:300]
    sandbox.default_page_size, sandbox.max_page_size = 10, 20
    assert get(sandbox, "/my/activities/search/ids", page=1).json() == everything[10:20]
    assert get(sandbox, "/my/activities/search/ids", page=1, count=50).json() == everything[20:40]
    # unknown parameters are ignored; malformed known ones are a clear 400
    assert get(sandbox, "/my/activities/search/ids", toDate="1", foo="bar").json() == everything
    assert get(sandbox, "/my/activities/search", page="x").status_code == 400


def test_styles(sandbox):
    summary = get(sandbox, "/my/activities/search", count=5).json()
    briefs = get(sandbox, "/my/activities/search/briefs", count=5).json()
    ids = get(sandbox, "/my/activities/search/ids", count=5).json()
    extended = get(sandbox, "/my/activities/search/extended", count=5).json()
    assert ids == [a["activityId"] for a in summary] and all(type(i) is int for i in ids)
    assert all(set(b) == {"activityId", "startDateTimeLocal", "distance", "duration"} for b in briefs)
    assert [b["activityId"] for b in briefs] == ids
    for short, long in zip(summary, extended):
        assert short.items() <= long.items()
        assert {"moonPhase", "sunriseLocal", "isCooperTest"} <= set(long) - set(short)
        assert "recordingKeys" not in long and "moonPhase" not in short
    assert get(sandbox, "/my/activities/search/foobar").status_code == 404


def test_from_date_filters_on_update_time_not_start_time(sandbox):
    newest_first = get(sandbox, "/my/activities/search").json()
    old_run, newish_run = newest_first[-1], newest_first[3]
    sandbox.clock.advance(60)
    cutoff = sandbox.clock.now().timestamp()
    sandbox.clock.advance(60)
    sandbox.athlete.edit_activity(old_run["activityId"], notes="fixed the watch")
    for name, value in (("fromDate", str(int(cutoff))), ("fromDateUTC", f"{cutoff:.3f}")):
        since = get(sandbox, "/my/activities/search", **{name: value}).json()
        assert [a["activityId"] for a in since] == [old_run["activityId"]]  # the edited old run, nothing else
        assert newish_run["activityId"] not in [a["activityId"] for a in since]
    # the new-ish run itself is found by its own update time
    updated = datetime.fromisoformat(newish_run["dateUpdatedUTC"]).replace(tzinfo=UTC).timestamp()
    ids = get(sandbox, "/my/activities/search/ids", fromDateUTC=str(updated - 1)).json()
    assert newish_run["activityId"] in ids and old_run["activityId"] in ids
    assert len(ids) < len(newest_first) / 2
    assert get(sandbox, "/my/activities/search", fromDate="yesterday").status_code == 400


def test_deleted_runs_are_hidden_everywhere_and_404_on_detail(sandbox):
    victim = get(sandbox, "/my/activities/search/ids", count=3).json()[1]
    before = sandbox.clock.now().timestamp() - 1
    sandbox.athlete.delete_activity(victim)
    assert victim not in get(sandbox, "/my/activities/search/ids").json()
    assert victim not in [a["activityId"] for a in get(sandbox, "/my/activities/search/extended").json()]
    assert victim not in get(sandbox, "/my/activities/search/ids", fromDateUTC=str(before)).json()
    assert get(sandbox, f"/my/activities/{victim}").status_code == 404
    assert sandbox.athlete.is_deleted(victim) and sandbox.athlete.get(victim) is not None
    sandbox.athlete.undelete_activity(victim)
    assert victim in get(sandbox, "/my/activities/search/ids", fromDateUTC=str(before)).json()
    assert get(sandbox, "/my/activities/99999999999").status_code == 404


def test_full_detail(sandbox):
    gps = next(a for a in get(sandbox, "/my/activities/search").json() if a["hasDetailsGPS"] == 1)
    full = get(sandbox, f"/my/activities/{gps['activityId']}").json()
    assert {"recordingKeys", "recordingValues", "pauseIndexes", "laps", "songs", "heartRateRecovery"} <= set(full)
    assert len(full["recordingKeys"]) == len(full["recordingValues"])
    assert len({len(series) for series in full["recordingValues"]}) == 1  # column-major, equal lengths
    distance = full["recordingValues"][full["recordingKeys"].index("distance")]
    assert distance[-1] == pytest.approx(gps["distance"])
    assert get(sandbox, f"/my/activities/{gps['activityId']}").json() == full  # lazily, but deterministic


def test_userinfo_and_unknown_paths(sandbox):
    info = get(sandbox, "/my/userinfo").json()
    assert {"id", "userName", "firstName", "lastName", "registrationDateUTC", "timeZoneOffsetMinutes"} <= set(info)
    newest = get(sandbox, "/my/activities/search", count=1).json()[0]
    assert info["dateTimeUTCOfLastRun"] == datetime.fromisoformat(newest["startDateTimeLocal"]).astimezone(
        UTC
    ).strftime("%Y-%m-%dT%H:%M:%S")
    # only "my" resources, only what the client reads, only GET
    assert get(sandbox, f"/{info['userName']}/activities/search/ids").status_code == 404
    assert get(sandbox, "/my/stats").status_code == 404
    assert (
        requests.post(f"{sandbox.api_base}/my/activities/search", headers=AUTH, json={}, timeout=10).status_code == 405
    )


# ------------------------------------------------------------------------------------------------ auth


def test_401_for_missing_bad_and_expired_tokens(sandbox):
    denied = {"Message": "Authorization has been denied for this request."}
    assert get(sandbox, "/my/activities/search", token=None).status_code == 401
    response = get(sandbox, "/my/activities/search", token="nope")
    assert response.status_code == 401 and response.json() == denied
    # the access_token query parameter works too
    ok = requests.get(f"{sandbox.api_base}/my/userinfo", params={"access_token": "test-token"}, timeout=10)
    assert ok.status_code == 200
    sandbox.clock.advance(TWELVE_WEEKS - 60)
    assert get(sandbox, "/my/userinfo").status_code == 200
    sandbox.clock.advance(61)
    assert get(sandbox, "/my/userinfo").status_code == 401


def authorize(sb, client_id="cid", **extra):
    params = {
        "client_id": client_id,
        "response_type": "code",
        "scope": "read_activity write_activity",
        "redirect_uri": "http://127.0.0.1:9/callback",
        "state": "xyz",
        **extra,
    }
    response = requests.get(f"{sb.auth_base}/oauth2/authenticate", params=params, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    return {k: v[-1] for k, v in parse_qs(location.query or location.fragment).items()}


def token_request(sb, **form):
    return requests.post(
        f"{sb.auth_base}/oauth2/token", data={"client_id": "cid", "client_secret": "csecret", **form}, timeout=10
    )


def test_authorization_code_flow_refresh_rotation_and_expiry(sandbox):
    sandbox.register_client("cid", "csecret")
    redirected = authorize(sandbox)
    assert redirected["state"] == "xyz" and redirected["code"]
    issued = token_request(
        sandbox,
        grant_type="authorization_code",
        code=redirected["code"],
        redirect_uri="http://127.0.0.1:9/callback",
        state="s1",
    )
    assert issued.status_code == 200
    tokens = issued.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == TWELVE_WEEKS and tokens["state"] == "s1"
    assert get(sandbox, "/my/userinfo", token=tokens["access_token"]).status_code == 200
    # codes are single-use
    again = token_request(sandbox, grant_type="authorization_code", code=redirected["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # refresh rotates; the old refresh token is then rejected
    refreshed = token_request(sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    reused = token_request(sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # TTWatcher style: the refresh token in `code`
    via_code = token_request(sandbox, grant_type="refresh_token", code=refreshed["refresh_token"])
    assert via_code.status_code == 200
    latest = via_code.json()
    # expiry through the clock: access token 401, then refresh token invalid_grant too
    sandbox.clock.advance(TWELVE_WEEKS + 5)
    assert get(sandbox, "/my/userinfo", token=latest["access_token"]).status_code == 401
    expired = token_request(sandbox, grant_type="refresh_token", refresh_token=latest["refresh_token"])
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


def test_token_endpoint_errors(sandbox):
    sandbox.register_client("cid", "csecret")
    code = authorize(sandbox)["code"]
    bad_client = requests.post(
        f"{sandbox.auth_base}/oauth2/token",
        data={"client_id": "cid", "client_secret": "wrong", "grant_type": "authorization_code", "code": code},
        timeout=10,
    )
    assert bad_client.status_code == 401 and bad_client.json() == {
        "error": "invalid_client",
        "error_description": "Could not authenticate with client_id and client_secret",
    }
    assert "csecret" not in bad_client.text and code not in bad_client.text
    unsupported = token_request(sandbox, grant_type="password", username="u", password="p")
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"
    as_json = requests.post(
        f"{sandbox.auth_base}/oauth2/token",
        json={"client_id": "cid", "client_secret": "csecret", "grant_type": "authorization_code", "code": code},
        timeout=10,
    )
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    # configurable: without rotation the old refresh token keeps working
    sandbox.rotate_refresh_tokens = False
    issued = sandbox.issue_token()
    for _ in range(2):
        assert token_request(sandbox, grant_type="refresh_token", refresh_token=issued["refresh_token"]).ok


def test_authorize_error_redirects(sandbox):
    sandbox.register_client("cid", "csecret")
    assert authorize(sandbox, client_id="stranger")["error"] == "invalid_client"
    assert authorize(sandbox, response_type="token")["error"] == "unsupported_response_type"  # code flow only
    assert authorize(sandbox, scope="read_body")["error"] == "invalid_scope"
    # never redirects to a non-loopback address (nor to none)
    for redirect_uri in ("https://evil.example/cb", "urn:ietf:wg:oauth:2.0:oob", None):
        refused = requests.get(
            f"{sandbox.auth_base}/oauth2/authenticate",
            params={"client_id": "cid", "response_type": "code", "redirect_uri": redirect_uri},
            allow_redirects=False,
            timeout=10,
        )
        assert refused.status_code == 400 and "Location" not in refused.headers


# ------------------------------------------------------------------------------------ limits and faults


def test_rate_limit_429_with_retry_after_on_the_rolling_hour(sandbox_factory):
    sb = sandbox_factory(years=1, rate_limit=5)
    assert [get(sb, "/my/userinfo").status_code for _ in range(5)] == [200] * 5
    limited = get(sb, "/my/userinfo")
    assert limited.status_code == 429 and 3500 <= int(limited.headers["Retry-After"]) <= 3600
    other = sb.issue_token(refresh=False)["access_token"]
    assert get(sb, "/my/userinfo", token=other).status_code == 200  # the budget is per token
    sb.clock.advance(int(limited.headers["Retry-After"]))
    assert get(sb, "/my/userinfo").status_code == 200
    sb.rate_limit = 0
    assert all(get(sb, "/my/userinfo").status_code == 200 for _ in range(10))


def test_injected_status_garbage_drop_and_delay(sandbox):
    sandbox.inject(status=503, count=2, retry_after=7)
    first, second, third = (get(sandbox, "/my/userinfo") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["Retry-After"] == "7"
    sandbox.inject_garbage(count=1)
    garbage = get(sandbox, "/my/activities/search", count=1)
    with pytest.raises(ValueError):
        json.loads(garbage.text)
    sandbox.inject_drop(count=1, path_prefix="/v1/my/activities")
    with pytest.raises(requests.ConnectionError):
        get(sandbox, "/my/activities/search", count=1)
    assert get(sandbox, "/my/activities/search", count=1).status_code == 200
    sandbox.inject_delay(0.5, count=1)
    started = time.perf_counter()
    assert get(sandbox, "/my/userinfo").status_code == 200
    assert time.perf_counter() - started >= 0.5
    sandbox.inject(status=500, count=None, path_prefix="/oauth2/")  # always, only that prefix
    assert all(token_request(sandbox, grant_type="x").status_code == 500 for _ in range(3))
    assert get(sandbox, "/my/userinfo").status_code == 200
    sandbox.clear_faults()
    assert token_request(sandbox, grant_type="x").status_code == 401  # back to real behaviour
    statuses = [r.status for r in sandbox.requests]
    assert statuses[:3] == [503, 503, 200] and 0 in statuses  # 0 = dropped


def test_request_log_redacts_secrets(sandbox):
    requests.get(f"{sandbox.api_base}/my/userinfo", params={"access_token": "test-token", "page": "1"}, timeout=10)
    sandbox.register_client("cid", "csecret")
    code = authorize(sandbox)["code"]
    token_request(sandbox, grant_type="authorization_code", code=code)
    logged = sandbox.requests[-3:]
    assert logged[0].query == {"access_token": "<redacted>", "page": "1"} and logged[0].status == 200
    assert [(r.path, r.status) for r in logged[1:]] == [("/oauth2/authenticate", 302), ("/oauth2/token", 200)]
    assert "test-token" not in repr(sandbox.requests) + repr(sandbox) and code not in repr(sandbox.requests)


# ------------------------------------------------------------------------------------ synthetic athlete


def _history(seed, years=2):
    clock = SandboxClock(datetime(2026, 3, 21, 1, tzinfo=UTC))
    return Athlete.synthetic(years, seed, clock, today=TODAY)


def test_same_seed_same_history_different_seed_different():
    first, second, other = _history(7), _history(7), _history(8)
    assert first.activities == second.activities
    assert [first.get(a["activityId"]) for a in first.activities[:20]] == [
        second.get(a["activityId"]) for a in second.activities[:20]
    ]
    assert first.activities != other.activities
    assert first.activities[0]["startDateTimeLocal"][:10] == TODAY.isoformat()


def test_pinned_today_serves_identical_json(sandbox_factory):
    one, two = sandbox_factory(years=1, seed=3, today=TODAY), sandbox_factory(years=1, seed=3, today=TODAY)
    assert get(one, "/my/activities/search").content == get(two, "/my/activities/search").content
    assert one.clock.now().astimezone().date() >= TODAY


def test_synthetic_athlete_has_every_edge_case():
    athlete = _history(7)
    runs = athlete.activities
    by_day: dict[str, list[dict]] = {}
    for run in runs:
        by_day.setdefault(run["startDateTimeLocal"][:10], []).append(run)
    days = sorted(date.fromisoformat(d) for d in by_day)
    qualifying = {d for d, rs in by_day.items() if sum(r["distance"] for r in rs) >= MILE_KM}
    # a multi-year streak with a few breaks (missing days, and days whose runs don't add up to a mile)
    assert days[-1] == TODAY and (days[-1] - days[0]).days >= 700
    gaps = [b for a, b in zip(days, days[1:]) if (b - a).days > 1]
    assert 1 <= len(gaps) <= 6
    assert any(d not in qualifying for d in by_day)
    assert any(rs == [r] and r["distance"] == 1.609 for rs in by_day.values() for r in rs)  # 1,609 m: no
    # two-run days; days where only the SUM of two short runs reaches a mile
    assert sum(len(rs) == 2 for rs in by_day.values()) >= 10
    assert any(
        len(rs) == 2 and all(r["distance"] < MILE_KM for r in rs) and sum(r["distance"] for r in rs) >= MILE_KM
        for rs in by_day.values()
    )
    assert any(r["distance"] < MILE_KM for r in runs)
    # treadmill, manual, zero-duration runs, with the real key shapes
    treadmill = [r for r in runs if r["isTreadmill"] == 1]
    assert treadmill and all(
        "startLatitude" not in r and r["hasDetailsGPS"] == 0 and r["terrain"] == "treadmill" for r in treadmill
    )
    manual = [r for r in runs if r["source"] == "manual"]
    assert manual and all(
        r["syncDateTimeUTC"] is None
        and r["hasDetails"] == 0
        and r["externalId"] == ""
        and "heartRateAverage" not in r
        and "cadenceAverage" not in r
        for r in manual
    )
    assert any(r["duration"] == 0 for r in runs)
    # near-midnight runs, DST offsets at home, travel offsets
    assert any(r["startDateTimeLocal"][11:13] == "23" for r in runs)
    assert any(r["startDateTimeLocal"][11:13] == "00" for r in runs)
    offsets = {r["startDateTimeLocal"][-6:] for r in runs}
    assert {"-05:00", "-04:00", "+13:00", "-08:00"} <= offsets
    assert "2025-03-09" in by_day and "2025-11-02" in by_day  # the DST changeover days themselves
    # serialisation: formats, 0/1 flags, nulls, sometimes-integral numbers
    assert all(
        LOCAL_RE.match(r["startDateTimeLocal"])
        and UTC_RE.match(r["dateCreatedUTC"])
        and UTC_RE.match(r["dateUpdatedUTC"])
        for r in runs
    )
    assert {len(r["dateCreatedUTC"].partition(".")[2]) for r in runs} == {0, 1, 2, 3}
    assert all(r[f] in (0, 1) and type(r[f]) is int for r in runs for f in ("hasDetails", "isRace", "isTreadmill"))
    assert any(r["calories"] is None for r in runs) and any(type(r["duration"]) is int for r in runs)
    assert len({r["activityId"] for r in runs}) == len(runs)
    # GPS runs with recordings, laps and pauses (details generated lazily)
    gps = [r for r in runs if r["hasDetailsGPS"] == 1]
    with_laps = with_pauses = with_no_fix = 0
    for run in gps[:200]:
        full = athlete.get(run["activityId"])
        assert {"latitude", "longitude", "clock", "distance"} <= set(full["recordingKeys"])
        with_laps += bool(full["laps"])
        with_pauses += bool(full["pauseIndexes"])
        with_no_fix += -1 in full["recordingValues"][full["recordingKeys"].index("latitude")]
        if full["pauseIndexes"]:
            clock = full["recordingValues"][0]
            assert clock[-1] > full["duration"]  # the wall clock includes the pauses, duration does not
        assert all(lap["lapType"] in ("general", "work", "recovery", "warmup", "cooldown") for lap in full["laps"])
    assert with_laps and with_pauses and with_no_fix


def test_edits_and_deletions_bump_update_time():
    athlete = _history(7)
    target = athlete.activities[100]
    version = athlete.version
    athlete.clock.advance(86400)
    athlete.edit_activity(target["activityId"], distance=2.5)
    edited = next(a for a in athlete.activities if a["activityId"] == target["activityId"])
    assert edited["distance"] == 2.5 and edited["dateUpdatedUTC"] > target["dateUpdatedUTC"]
    athlete.delete_activity(target["activityId"])
    assert target["activityId"] in athlete.deleted_ids and athlete.version > version
    assert target["activityId"] not in {a["activityId"] for a in athlete.visible_activities}
    with pytest.raises(KeyError):
        athlete.edit_activity(1, notes="x")


def test_data_file_activities_and_validation(sandbox_factory):
    payload = {
        "activityId": 5,
        "startDateTimeLocal": "2024-01-02T06:00:00-05:00",
        "distance": 5,
        "duration": 1500,
        "dateUpdatedUTC": "2024-01-02T12:00:00",
        "laps": [{"lapType": "general", "endDuration": 1500, "endDistance": 5}],
    }
    sb = sandbox_factory(
        activities=[payload, dict(payload, activityId=6, startDateTimeLocal="2024-01-03T06:00:00-05:00")]
    )
    assert get(sb, "/my/activities/search/ids").json() == [6, 5]
    assert "laps" not in get(sb, "/my/activities/search").json()[0]
    assert get(sb, "/my/activities/5").json()["laps"][0]["endDistance"] == 5
    with pytest.raises(ValueError, match="startDateTimeLocal"):
        SandboxServer(activities=[{"activityId": 1}])
    with pytest.raises(ValueError, match="activityId"):
        SandboxServer(activities=[{"startDateTimeLocal": "2024-01-02T06:00:00-05:00"}])


def test_cli_serves_until_interrupted(tmp_path):
    data = tmp_path / "runs.json"
    data.write_text(
        json.dumps(
            [{"activityId": 1, "startDateTimeLocal": "2024-01-02T06:00:00-05:00", "distance": 3.0, "duration": 900}]
        )
    )
    code = (
        "import argparse, sys; from myrunstreak_pipeline.cli import sandbox as c; "
        "p = argparse.ArgumentParser(); c.add_arguments(p); sys.exit(c.command(p.parse_args(sys.argv[1:])))"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0", "--data", str(data), "--token", "tok", "--rate-limit", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        base = re.search(r"http://127\.0\.0\.1:\d+", first).group(0)
        response = requests.get(
            f"{base}/v1/my/activities/search/ids", headers={"Authorization": "Bearer tok"}, timeout=10
        )
        assert response.json() == [1]
        assert "SMASHRUN_API_BASE" in process.stdout.readline() + process.stdout.readline()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    failed = subprocess.run(
        [sys.executable, "-c", code, "--data", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert failed.returncode != 0 and "not readable JSON" in failed.stderr


# ------------------------------------------------------------------------------------------ performance


def test_55_years_generate_fast_and_list_fast():
    started = time.perf_counter()
    sb = SandboxServer(years=55, seed=11, rate_limit=0)
    generated = time.perf_counter() - started
    with sb:
        session = requests.Session()
        timings = []
        for _ in range(3):  # the first one builds the JSON cache
            started = time.perf_counter()
            body = session.get(f"{sb.api_base}/my/activities/search", headers=AUTH, timeout=30).content
            timings.append(time.perf_counter() - started)
        count = len(json.loads(body))
    print(
        f"\n55 years: {count} activities generated in {generated:.2f} s; unpaged listing "
        f"{len(body) / 1e6:.1f} MB served in {timings[0]:.3f} s cold, {min(timings[1:]):.3f} s warm"
    )
    assert count > 20_000
    assert generated < 10
    assert min(timings[1:]) < 0.5 and timings[0] < 3


def test_issued_tokens_expire_on_the_clock(sandbox):
    short = sandbox.issue_token(expires_in=10, refresh=False)
    assert "refresh_token" not in short and get(sandbox, "/my/userinfo", token=short["access_token"]).ok
    sandbox.clock.advance(11)
    assert get(sandbox, "/my/userinfo", token=short["access_token"]).status_code == 401
    sandbox.inject(status=429, retry_after=3, path_prefix="/v1/my/userinfo")
    throttled = get(sandbox, "/my/userinfo")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"


def test_stop_closes_keep_alive_connections(sandbox_factory):
    sb = sandbox_factory(years=1)
    session = requests.Session()
    assert session.get(f"{sb.api_base}/my/userinfo", headers=AUTH, timeout=10).ok
    sb.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(f"{sb.api_base}/my/userinfo", headers=AUTH, timeout=10)
