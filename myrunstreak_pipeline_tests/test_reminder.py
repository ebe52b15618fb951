"""The evening "not yet today" reminder: the sensor on a frozen clock against the sandbox and a real database
(due only from REMIND_AT, once a day, only while at risk, today's SmashRun runs counted, <= 2 API requests a
tick), and the job posting to a real local HTTP receiver (one JSON POST, no secret anywhere, 4xx fails in one
line, 5xx retried)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from myrunstreak_pipeline.analytics.notify import post_notification, webhook, webhook_body
from myrunstreak_pipeline.analytics.reminder import MILE_KM, TodayStatus, reminder_message
from myrunstreak_pipeline.analytics.rule import set_streak_rule
from myrunstreak_pipeline.defs import reminder as reminder_defs
from myrunstreak_pipeline.defs.resources import DuckDBStorage, SmashRunResource
from myrunstreak_pipeline.duckdb_ops import DuckDBManager
from myrunstreak_pipeline.duckdb_ops.repository import RunRepository
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sandbox import SandboxServer
from myrunstreak_pipeline.settings import Settings
from myrunstreak_pipeline_tests.fixtures.dagster import SANDBOX_TOKEN, Pipeline, configure_env

DAY = dt.date(2026, 6, 10)  # a Wednesday, far from DST changes; the sandbox history ends on it
ZONE = ZoneInfo("America/New_York")  # the sandbox athlete's home
WEBHOOK_TOKEN = "T0-hook-secret-9f3e1d"  # noqa: S105 - distinctive, so the leak checks can grep for it


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZONE).astimezone(dt.UTC)


class Receiver:
    """A webhook on 127.0.0.1: records each POST (path, JSON body) and answers the next status of ``statuses``
    (the last one repeats)."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.posts: list[tuple[str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append((self.path, json.loads(body)))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{WEBHOOK_TOKEN}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


def _smashrun(sandbox) -> dict:
    return {"api_base": sandbox.api_base, "access_token": SANDBOX_TOKEN}


def _sandbox(run_today: bool) -> SandboxServer:
    """A one-year history ending on DAY (deterministic: the same ids each time), today's run removed unless
    ``run_today``."""
    sandbox = SandboxServer(years=1, seed=5, token=SANDBOX_TOKEN, rate_limit=0, today=DAY)
    if not run_today:
        for payload in sandbox.athlete.visible_activities:
            if payload["startDateTimeLocal"][:10] == DAY.isoformat():
                sandbox.athlete.delete_activity(payload["activityId"])
    return sandbox


@pytest.fixture(scope="module")
def stored_db(tmp_path_factory):
    """``stored_db(run_today)``: a database file holding the sandbox's history as a sync stores it (one unpaged
    listing; the sync itself is tested elsewhere), with the rule and the runner's zone (America/New_York). Built
    once per variant; each test works on a copy."""
    built: dict[bool, Path] = {}

    def build(run_today: bool) -> Path:
        if run_today not in built:
            path = tmp_path_factory.mktemp("reminder") / "runs.duckdb"
            with _sandbox(run_today) as sandbox, DuckDBManager(path) as manager:
                with SmashRunResource(**_smashrun(sandbox)).client() as client:
                    activities = client.list_activities().activities
                set_streak_rule(manager.connection, MILE_KM, "sum", "America/New_York")
                RunRepository(manager.connection).upsert_activities(activities)
            built[run_today] = path
        return built[run_today]

    return build


@contextlib.contextmanager
def _loaded(tmp_path, monkeypatch, stored_db, *, run_today: bool, notify_url: str | None):
    """The sandbox and a copy of its stored history; MYRUNSTREAK_TIMEZONE unset (the sensor reads the stored
    zone)."""
    with _sandbox(run_today) as sandbox:
        db_path = tmp_path / "runs.duckdb"
        shutil.copyfile(stored_db(run_today), db_path)
        configure_env(monkeypatch, sandbox, db_path, SANDBOX_TOKEN)
        monkeypatch.setenv("MYRUNSTREAK_REMIND_AT", "19:00")
        if notify_url:
            monkeypatch.setenv("MYRUNSTREAK_NOTIFY_URL", notify_url)
        else:
            monkeypatch.delenv("MYRUNSTREAK_NOTIFY_URL", raising=False)
        home = tmp_path / "dagster_home"
        home.mkdir()
        with dg.instance_for_test(temp_dir=str(home)) as instance:
            yield Pipeline(sandbox=sandbox, db_path=db_path, instance=instance, monkeypatch=monkeypatch)


@pytest.fixture
def at_risk(tmp_path, monkeypatch, receiver, stored_db):
    """Yesterday counted, today not yet run."""
    with _loaded(tmp_path, monkeypatch, stored_db, run_today=False, notify_url=receiver.url) as pipeline:
        yield pipeline


def _tick(pipeline, monkeypatch, now: dt.datetime, cursor: str | None = None):
    """One evaluation at ``now``; asserts it sent at most 2 SmashRun API requests and returns (result, count)."""
    monkeypatch.setattr(reminder_defs, "utc_now", lambda: now)
    defs = pipeline.defs()
    sensor = defs.resolve_sensor_def("streak_reminder")
    resources = {
        "smashrun": SmashRunResource(**_smashrun(pipeline.sandbox)),
        "storage": DuckDBStorage(database=str(pipeline.db_path)),
    }
    context = dg.build_sensor_context(instance=pipeline.instance, cursor=cursor, definitions=defs, resources=resources)
    before = len(pipeline.sandbox.requests)
    result = sensor.evaluate_tick(context)
    api_calls = len([r for r in pipeline.sandbox.requests[before:] if "/v1/" in r.path])
    assert api_calls <= 2
    return result, api_calls


def _add_run_today(pipeline, km: float, hour: int = 18) -> int:
    template = next(p for p in pipeline.sandbox.athlete.visible_activities if p["activityType"] == "running")
    run = {k: v for k, v in template.items() if k not in ("activityId", "dateCreatedUTC", "dateUpdatedUTC")}
    run["startDateTimeLocal"] = dt.datetime.combine(DAY, dt.time(hour, 5), tzinfo=ZONE).isoformat()
    run["distance"] = km
    run["duration"] = km * 330
    return pipeline.sandbox.athlete.add_activity(run)


def test_reminds_once_from_remind_at_while_at_risk(at_risk, monkeypatch):
    sensor = at_risk.defs().resolve_sensor_def("streak_reminder")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING

    early, calls = _tick(at_risk, monkeypatch, _at(DAY, 18, 59))  # 22:59 UTC: the stored zone decides
    assert not early.run_requests and "not before 19:00" in early.skip_message and calls == 0

    _add_run_today(at_risk, 0.6)  # only in SmashRun: counted, not enough
    due, calls = _tick(at_risk, monkeypatch, _at(DAY, 19, 0))
    [request] = due.run_requests
    assert request.run_key == f"reminder:{DAY.isoformat()}" and calls == 1
    message = request.run_config["ops"]["post_reminder"]["config"]["message"]
    assert message.startswith("Not yet today: 0.60 of 1.61 km (1 mile) — 1.01 km (0.63 mi) to go")
    assert "-day streak" in message
    assert json.loads(due.cursor) == {"reminded": DAY.isoformat()}

    again, calls = _tick(at_risk, monkeypatch, _at(DAY, 21, 30), cursor=due.cursor)  # same day: never twice
    assert not again.run_requests and "already reminded" in again.skip_message and calls == 0

    late, _ = _tick(at_risk, monkeypatch, _at(DAY, 23, 59))  # without the cursor: the same run key (deduped)
    assert [r.run_key for r in late.run_requests] == [request.run_key]

    # the next evening the day was missed: the streak is broken, nothing to save
    broken, calls = _tick(at_risk, monkeypatch, _at(DAY + dt.timedelta(days=1), 20), cursor=due.cursor)
    assert not broken.run_requests and "broken" in broken.skip_message and calls == 0


def test_no_reminder_when_today_qualifies_only_in_smashrun(at_risk, monkeypatch):
    _add_run_today(at_risk, 0.9, hour=7)
    _add_run_today(at_risk, 0.8, hour=12)  # 1.7 km together: a mile in 'sum' mode
    result, calls = _tick(at_risk, monkeypatch, _at(DAY, 20))
    assert not result.run_requests and "already qualifies in SmashRun" in result.skip_message and calls == 1


def test_runs_the_database_holds_are_not_counted_twice(at_risk, monkeypatch):
    # yesterday's run edited today: listed by SmashRun (updated since midnight) but dated yesterday and held
    yesterday = next(
        p
        for p in at_risk.sandbox.athlete.visible_activities
        if p["startDateTimeLocal"][:10] == (DAY - dt.timedelta(days=1)).isoformat()
    )
    at_risk.sandbox.athlete.edit_activity(yesterday["activityId"], startDateTimeLocal=f"{DAY}T06:00:00-04:00")
    result, _ = _tick(at_risk, monkeypatch, _at(DAY, 20))  # held by id: not today's distance
    [request] = result.run_requests
    assert "Not yet today: 0.00 of 1.61 km" in request.run_config["ops"]["post_reminder"]["config"]["message"]


def test_no_reminder_when_today_already_counts_in_the_database(tmp_path, monkeypatch, receiver, stored_db):
    with _loaded(tmp_path, monkeypatch, stored_db, run_today=True, notify_url=receiver.url) as pipeline:
        result, calls = _tick(pipeline, monkeypatch, _at(DAY, 20))
    assert not result.run_requests and "already counts" in result.skip_message and calls == 0


def test_off_without_a_url(at_risk, monkeypatch):
    monkeypatch.delenv("MYRUNSTREAK_NOTIFY_URL")
    assert at_risk.defs().resolve_sensor_def("streak_reminder").default_status == dg.DefaultSensorStatus.STOPPED
    result, calls = _tick(at_risk, monkeypatch, _at(DAY, 20))
    assert not result.run_requests and "MYRUNSTREAK_NOTIFY_URL is not set" in result.skip_message and calls == 0


def _run_job(pipeline, request):
    job = pipeline.defs().resolve_job_def("streak_reminder_job")
    return job.execute_in_process(run_config=request.run_config, instance=pipeline.instance, raise_on_error=False)


def _event_log_text(pipeline, result) -> str:
    return "\n".join(str(entry) for entry in pipeline.instance.all_logs(result.run_id))


def test_job_posts_one_json_reminder_without_the_secret(at_risk, monkeypatch, receiver):
    [request] = _tick(at_risk, monkeypatch, _at(DAY, 19, 30))[0].run_requests
    result = _run_job(at_risk, request)
    assert result.success
    [(path, body)] = receiver.posts
    assert path == f"/hooks/{WEBHOOK_TOKEN}"
    assert body["text"] == body["content"] == body["message"]
    assert body["text"].startswith("Not yet today: 0.00 of 1.61 km (1 mile) — 1.61 km (1.00 mi) to go")
    assert set(body) == {"text", "content", "message"} and WEBHOOK_TOKEN not in json.dumps(body)
    log = _event_log_text(at_risk, result)
    assert "127.0.0.1" in log and WEBHOOK_TOKEN not in log


def test_job_fails_in_one_line_on_a_4xx_and_retries_a_5xx(at_risk, monkeypatch, receiver):
    [request] = _tick(at_risk, monkeypatch, _at(DAY, 19, 30))[0].run_requests
    receiver.statuses = [404]
    failed = _run_job(at_risk, request)
    assert not failed.success and len(receiver.posts) == 1  # a 4xx is not retried
    [failure] = [e for e in failed.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.event_specific_data.error
    assert "HTTP 404" in error.message and "127.0.0.1" in error.message
    assert len(error.message.strip().splitlines()) == 1
    assert WEBHOOK_TOKEN not in _event_log_text(at_risk, failed)

    receiver.statuses = [503, 200]  # transient: retried after a short backoff
    assert _run_job(at_risk, request).success
    assert len(receiver.posts) == 3


def test_post_gives_up_after_two_retries_without_the_url():
    with Receiver(statuses=(502,)) as server:
        with pytest.raises(MyRunStreakError) as raised:
            post_notification(server.url, "hi", backoff=0.01)
        assert len(server.posts) == 3
    assert "HTTP 502" in str(raised.value) and WEBHOOK_TOKEN not in str(raised.value)
    with pytest.raises(MyRunStreakError) as raised:  # nothing listening any more: a connection error
        post_notification(server.url, "hi", backoff=0.01)
    assert "cannot reach" in str(raised.value) and WEBHOOK_TOKEN not in str(raised.value)


def test_webhook_shapes_for_slack_discord_and_ntfy():
    slack = webhook("https://hooks.slack.com/services/T0/B0/xyz")
    assert (slack.post_url, slack.host, slack.topic) == (
        "https://hooks.slack.com/services/T0/B0/xyz",
        "hooks.slack.com",
        None,
    )
    assert webhook_body("m", slack) == {"text": "m", "content": "m", "message": "m"}
    discord = webhook("https://discord.com/api/webhooks/123/tok")
    assert discord.topic is None and discord.host == "discord.com"
    ntfy = webhook("https://ntfy.sh/mytopic")
    assert (ntfy.post_url, ntfy.topic) == ("https://ntfy.sh/", "mytopic")
    assert webhook_body("m", ntfy)["topic"] == "mytopic"
    own = webhook("https://ntfy.example.com:8443/#alerts")
    assert (own.post_url, own.host, own.topic) == ("https://ntfy.example.com:8443/", "ntfy.example.com:8443", "alerts")
    # a one-segment path on another host is not taken for ntfy
    assert webhook("https://example.com/mytopic").topic is None


def test_messages_for_sum_and_strict():
    status = TodayStatus(DAY, "at_risk", 1234, 1.609344, "sum", 0.6, 0.0, 0, 0.6, False, 1.009344)
    assert reminder_message(status) == (
        "Not yet today: 0.60 of 1.61 km (1 mile) — 1.01 km (0.63 mi) to go to keep your 1,234-day streak"
    )
    strict = TodayStatus(DAY, "at_risk", 12, 3.0, "strict", 2.0, 0.0, 0, 2.0, False, 3.0)
    assert reminder_message(strict) == (
        "Not yet today: no single run of 3.00 km (1.86 mi) yet (2.00 km so far) — run 3.00 km (1.86 mi) to keep "
        "your 12-day streak"
    )


def test_the_url_reaches_dagster_as_an_env_var_reference(monkeypatch):
    monkeypatch.setenv("MYRUNSTREAK_NOTIFY_URL", f"https://hooks.slack.com/services/{WEBHOOK_TOKEN}")
    resource = reminder_defs.NotifierResource.from_settings(Settings.from_env())
    assert isinstance(resource.url, dg.EnvVar) and resource.url == "MYRUNSTREAK_NOTIFY_URL"
    assert WEBHOOK_TOKEN not in repr(resource)
    resolved = reminder_defs.NotifierResource(url=f"https://hooks.slack.com/services/{WEBHOOK_TOKEN}")
    assert repr(resolved) == "NotifierResource(host='hooks.slack.com')"


def test_skips_without_a_database(at_risk, monkeypatch):
    at_risk.db_path.unlink()
    monkeypatch.setenv("MYRUNSTREAK_TIMEZONE", "America/New_York")  # the zone known: nothing read before 19:00
    early, _ = _tick(at_risk, monkeypatch, _at(DAY, 18))
    assert "not before 19:00 (America/New_York; now 18:00)" in early.skip_message
    result, calls = _tick(at_risk, monkeypatch, _at(DAY, 20))
    assert not result.run_requests and "database file not found" in result.skip_message and calls == 0
