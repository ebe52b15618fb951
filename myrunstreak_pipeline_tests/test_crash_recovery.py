"""Crash recovery of ``myrunstreak run``: a SIGKILLed run never blocks the next one, the pool wait is bounded and
names the holder, Ctrl-C / SIGTERM always end the CLI, a user error in a step is one line, and run monitoring
(``dagster-daemon``) fails a killed run and frees its slot.

Every CLI here is a real subprocess against the SmashRun sandbox (2 years, detail budget 0 so every run loads
the same rows). The sandbox answers the summary listing after SUMMARY_DELAY seconds, so the ``runs`` step holds
the ``duckdb`` pool slot long enough for a kill, a signal or a rival claim to land inside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.utils import make_new_run_id
from dagster._utils.error import serializable_error_info_from_exc_info

from myrunstreak_pipeline.cli import recovery
from myrunstreak_pipeline.cli.run import INSTANCE_TEMPLATE, _from_error_info, ensure_dagster_home
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.sandbox import SandboxServer
from myrunstreak_pipeline.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKEN = "crash-test-token-5e1d"
POOL = "duckdb"
SUMMARY_DELAY = 1.0
KILLS = 8
RERUN_BOUND = 120  # seconds the run after a kill may take (it takes ~6-15 s)
SIGNAL_BOUND = 10  # seconds from SIGINT/SIGTERM to the CLI's exit
VOLATILE = {  # load timestamps and surrogate keys: not data
    "first_loaded_at",
    "last_loaded_at",
    "fetched_at",
    "quarantine_id",
    "quarantined_at",
    "applied_at",
    "updated_at",
    "first_failed_at",
    "last_failed_at",
    "next_attempt_at",
}
RESET_SIGNALS_AND_EXEC = (  # some CI shells start jobs with SIGINT/SIGTERM ignored: restore the defaults
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.signal(signal.SIGTERM, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(years=2, seed=23, token=TOKEN, rate_limit=0) as server:
        server.inject_delay(SUMMARY_DELAY, count=None, path_prefix="/v1/my/activities/search")
        yield server


@dataclass
class Place:
    """A database, a DAGSTER_HOME (with the shipped dagster.yaml and its storage already made) and the
    environment of a CLI subprocess using them."""

    env: dict[str, str]
    db: Path
    instance: dg.DagsterInstance


@pytest.fixture
def place(sandbox, tmp_path):
    made = []

    def make(name: str = "main", config: str | None = None, **extra: str) -> Place:
        home = tmp_path / f"{name}_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(config or INSTANCE_TEMPLATE.read_text())
        instance = dg.DagsterInstance.from_config(str(home))  # storage made here, not raced by two CLIs
        made.append(instance)
        first_year = min(a["startDateTimeLocal"][:4] for a in sandbox.athlete.activities)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMASHRUN_", "MYRUNSTREAK_", "DAGSTER_"))}
        env.update(
            {
                "SMASHRUN_API_BASE": sandbox.api_base,
                "SMASHRUN_AUTH_BASE": sandbox.auth_base,
                "SMASHRUN_ACCESS_TOKEN": TOKEN,
                "SMASHRUN_TOKEN_FILE": str(tmp_path / "no_token.json"),
                "MYRUNSTREAK_DB": str(tmp_path / f"{name}.duckdb"),
                "MYRUNSTREAK_HISTORY_START": f"{first_year}-01-01",
                "MYRUNSTREAK_DETAIL_BUDGET": "0",
                "MYRUNSTREAK_CALENDAR_DIR": str(tmp_path / f"{name}_pictures"),
                "DAGSTER_HOME": str(home),
                **extra,
            }
        )
        return Place(env, tmp_path / f"{name}.duckdb", instance)

    yield make
    for instance in made:
        instance.dispose()


def spawn(place: Place, *args: str, command: str = "myrunstreak") -> subprocess.Popen:
    argv = [sys.executable, "-c", RESET_SIGNALS_AND_EXEC, str(BIN / command)]
    argv += ["run", *args] if command == "myrunstreak" else list(args)
    return subprocess.Popen(argv, env=place.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_cli(place: Place, *args: str, timeout: float = RERUN_BOUND) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    process = spawn(place, *args)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(
            f"`myrunstreak run {' '.join(args)}` still running after {timeout} s:\n{out}\n{err}"
        ) from None
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), time.monotonic() - started


def claims(instance: dg.DagsterInstance) -> list[tuple[str, str, bool]]:
    """(run id, step, holds the slot) for every claim on the pool; assigned-but-unclaimed counts as holding."""
    info = instance.event_log_storage.get_concurrency_info(POOL)
    held = [(slot.run_id, slot.step_key, True) for slot in info.claimed_slots]
    held += [(s.run_id, s.step_key, s.assigned_timestamp is not None) for s in info.pending_steps]
    return sorted(set(held))


def wait_for(condition, process: subprocess.Popen | None = None, timeout: float = 90.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the CLI ended ({process.returncode}) before {what}:\n{out}\n{err}")
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s: {what}")


def slot_holder(instance: dg.DagsterInstance, exclude: str | None = None) -> tuple[str, str] | None:
    return next(((run_id, step) for run_id, step, holds in claims(instance) if holds and run_id != exclude), None)


def checksum(db: Path) -> dict[str, tuple[int, str]]:
    """Every table's rows (volatile columns left out), as (row count, sha256)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        sums = {}
        for table in tables:
            columns = [
                f'"{row[0]}"'
                for row in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if row[0] not in VOLATILE
            ]
            rows = con.execute(f'SELECT {", ".join(columns)} FROM "{table}" ORDER BY ALL').fetchall()
            sums[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
        return sums
    finally:
        con.close()


@contextlib.contextmanager
def live_holder(instance: dg.DagsterInstance, step: str = "activity_summaries"):
    """A STARTED run whose process (a sleeping child) is alive, claiming the pool through the instance API."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        run_id = make_new_run_id()
        tags = {
            recovery.PID_TAG: str(sleeper.pid),
            recovery.HOST_TAG: recovery.this_host(),
            recovery.PROCESS_START_TAG: recovery.inspect_process(sleeper.pid)[0],
        }
        instance.add_run(
            dg.DagsterRun(job_name="sync_job", run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=tags)
        )
        instance.event_log_storage.initialize_concurrency_limit_to_default(POOL)
        status = instance.event_log_storage.claim_concurrency_slot(POOL, run_id, step)
        yield run_id, sleeper, status
    finally:
        sleeper.kill()
        sleeper.wait()


# ------------------------------------------------------------------------------------------- SIGKILL


@pytest.mark.slow
def test_sigkill_at_any_point_then_the_next_run_recovers_with_identical_tables(place):
    clean = place("clean")
    done, clean_seconds = run_cli(clean, "--full")
    assert done.returncode == 0, done.stderr
    reference = checksum(clean.db)
    assert reference["runs"][0] > 500

    main = place("main")
    rng = random.Random(20261130)
    report = []
    for number in range(KILLS):
        process = spawn(main, "--full")
        started = time.monotonic()
        if number % 2:  # while a step of the run holds the pool slot
            wait_for(lambda: slot_holder(main.instance), process, what="a step holding the pool slot")
            time.sleep(rng.uniform(0.0, 0.8))
        else:  # anywhere in the run, start-up included
            time.sleep(rng.uniform(0.2, 0.8 * clean_seconds))
        held = slot_holder(main.instance)
        process.kill()
        process.communicate()
        killed_at = time.monotonic() - started
        args = ("--full",) if number % 3 else ()  # the next run: sometimes --full, sometimes incremental
        rerun, seconds = run_cli(main, *args)
        assert rerun.returncode == 0, f"kill {number} at {killed_at:.1f} s ({held}):\n{rerun.stdout}\n{rerun.stderr}"
        if held is not None:  # the killed run held the slot: the rerun recovered it first
            assert f"recovered run {held[0]}" in rerun.stdout
            assert main.instance.get_run_by_id(held[0]).status == dg.DagsterRunStatus.FAILURE
        assert not claims(main.instance)
        assert checksum(main.db) == reference, f"kill {number} at {killed_at:.1f} s ({held})"
        report.append((number, round(killed_at, 1), held[1] if held else "-", " ".join(args), round(seconds, 1)))
    print(f"\nclean run {clean_seconds:.1f} s; kills (number, killed at s, step holding the slot, rerun, rerun s):")
    for row in report:
        print("  ", row)
    assert sum(1 for row in report if row[2] != "-") >= KILLS // 2
    leftovers = main.instance.get_runs(filters=dg.RunsFilter(statuses=recovery.UNFINISHED))
    assert not leftovers


# ------------------------------------------------------------------------------------------- the pool wait


def test_the_pool_wait_gives_up_naming_a_live_holder(place):
    where = place(MYRUNSTREAK_POOL_TIMEOUT="3")
    with live_holder(where.instance) as (run_id, sleeper, status):
        assert status.is_claimed
        done, _seconds = run_cli(where, "--full")
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, done.stderr
        assert [line.split(":")[0] for line in lines] == ["error", "hint"], done.stderr
        assert f"run {run_id} (pid {sleeper.pid} on {recovery.this_host()}, STARTED" in lines[0]
        assert "Dagster pool 'duckdb'" in lines[0] and f"kill {sleeper.pid}" in lines[1]
        assert "Traceback" not in done.stderr and TOKEN not in done.stdout + done.stderr
        assert [run.run_id for run in where.instance.get_runs()] == [run_id]  # no run was started
    # its process is gone now: the next run's recovery ends it and frees the slot
    assert recovery.recover_stale_runs(where.instance) == [
        f"recovered run {run_id} (pid {sleeper.pid} on {recovery.this_host()}, gone): marked failed, pool slots freed"
    ]
    assert where.instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    assert not claims(where.instance)


def test_a_step_waiting_for_the_pool_fails_or_stops_promptly(place):
    """A rival queues for the slot while our first step holds it: our next step then waits in Dagster's own claim
    loop (which neither sleeps nor looks at signals). The wait is bounded, and SIGTERM still ends the CLI."""
    where = place(MYRUNSTREAK_POOL_TIMEOUT="4")
    process = spawn(where, "--full")
    ours = wait_for(lambda: slot_holder(where.instance), process, what="our run holding the slot")[0]
    with live_holder(where.instance, step="rival_step") as (rival, sleeper, status):
        assert not status.is_claimed  # queued behind our step
        out, err = process.communicate(timeout=RERUN_BOUND)
        assert process.returncode == 2, out + err
        error = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(error) == 1 and f"run {rival} (pid {sleeper.pid}" in error[0], err
        assert f"run {ours} marked failed" in error[0]
        assert where.instance.get_run_by_id(ours).status == dg.DagsterRunStatus.FAILURE
        assert all(run_id != ours for run_id, _step, _holds in claims(where.instance))

        where.instance.event_log_storage.free_concurrency_slots_for_run(rival)
        where.env["MYRUNSTREAK_POOL_TIMEOUT"] = "600"
        process = spawn(where, "--full")
        ours = wait_for(lambda: slot_holder(where.instance), process, what="our second run holding the slot")[0]
        where.instance.event_log_storage.claim_concurrency_slot(POOL, rival, "rival_step")
        wait_for(
            lambda: any(run_id == ours and not holds for run_id, _step, holds in claims(where.instance)),
            process,
            what="our run's next step waiting in the claim loop",
        )
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        took = time.monotonic() - signalled
    assert process.returncode == 130, out + err
    assert took < SIGNAL_BOUND, f"{took:.1f} s"
    assert where.instance.get_run_by_id(ours).status == dg.DagsterRunStatus.CANCELED
    assert all(run_id != ours for run_id, _step, _holds in claims(where.instance))


def test_ctrl_c_during_a_step_ends_the_cli_within_seconds(place):
    where = place()
    process = spawn(where, "--full")
    ours = wait_for(lambda: slot_holder(where.instance), process, what="a step holding the slot")[0]
    signalled = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    took = time.monotonic() - signalled
    assert process.returncode == 130, out + err
    assert took < SIGNAL_BOUND, f"{took:.1f} s"
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: interrupted")
    assert where.instance.get_run_by_id(ours).status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    assert not claims(where.instance)


# ------------------------------------------------------------------------------------------- one line


def test_a_user_error_in_a_step_is_one_line_with_its_hint(place):
    where = place(SMASHRUN_ACCESS_TOKEN="revoked-token-0000")
    done, _seconds = run_cli(where, "--full")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: SmashRun rejected the user-level access token (HTTP 401) (hint: SMASHRUN_ACCESS_TOKEN cannot be "
        "refreshed: get a new one from the SmashRun API explorer, or set SMASHRUN_CLIENT_ID + SMASHRUN_CLIENT_SECRET "
        "and run `myrunstreak auth`)"
    ]
    assert "partitions done 0/3" in done.stdout and "FAILED" in done.stdout


def test_error_info_without_the_live_exception():
    def info(error: BaseException):
        try:
            raise RuntimeError("wrapper") from error
        except RuntimeError:
            return serializable_error_info_from_exc_info(sys.exc_info())

    user = MyRunStreakError("the database is busy", hint="close the other program")
    user.add_note("hint: close the other program")
    assert _from_error_info(info(user)) == ("the database is busy", "close the other program", True)
    assert _from_error_info(info(KeyError("x"))) == ("KeyError: 'x'", None, False)


# ------------------------------------------------------------------------------------------- instance, daemon


def test_process_identity_tells_a_gone_or_reused_pid():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    identity, start = recovery.inspect_process(child.pid)
    assert identity and abs(start - time.time()) < 30
    here = recovery.this_host()
    assert recovery.Worker(child.pid, here, identity).state() == "alive"
    assert recovery.Worker(child.pid, None, None, not_after=start + 1).state() == "alive"  # dagster dev's runs
    assert recovery.Worker(child.pid, here, "1@another-boot").state() == "gone"  # the pid was reused
    assert recovery.Worker(child.pid, None, None, not_after=start - 3600).state() == "gone"  # reused, too
    assert recovery.Worker(child.pid, "elsewhere", "1@another-boot").state() == "unknown"
    child.kill()
    time.sleep(0.2)
    assert recovery.Worker(child.pid, here, identity).state() == "gone"  # a zombie, not reaped yet
    child.wait()
    assert recovery.Worker(child.pid, here, identity).state() == "gone"
    assert recovery.Worker().state() == "unknown"
    own = recovery.process_tags()
    assert recovery.Worker(os.getpid(), here, own[recovery.PROCESS_START_TAG]).state() == "gone"  # a leftover


def test_shipped_instance_config_and_upgrade(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(  # what earlier versions copied: replaced by the current template
        "# Dagster instance settings for myrunstreak, copied into a fresh DAGSTER_HOME by `myrunstreak run` / "
        '`demo`.\ntelemetry:\n  enabled: false\nnux:\n  enabled: false            # no "Join the Dagster '
        'community" modal in the UI\nconcurrency:\n  pools:\n    default_limit: 1        # pool "duckdb": one '
        "DuckDB writer at a time across runs\nrun_monitoring:\n  enabled: true\n  free_slots_after_run_end_seconds:"
        " 300   # a crashed run cannot hold the duckdb slot forever\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    ensure_dagster_home(Settings.from_env())
    assert (home / "dagster.yaml").read_text() == INSTANCE_TEMPLATE.read_text()
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        assert isinstance(instance.run_launcher, recovery.ProcessCheckingRunLauncher)
        assert instance.run_launcher.supports_check_run_worker_health
        assert instance.run_monitoring_enabled and instance.run_monitoring_max_resume_run_attempts == 0
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 30
        with live_holder(instance) as (run_id, sleeper, _status):
            health = instance.run_launcher.check_run_worker_health(instance.get_run_by_id(run_id))
            assert health.status.value == "RUNNING"
        health = instance.run_launcher.check_run_worker_health(instance.get_run_by_id(run_id))
        assert health.status.value == "FAILED" and f"pid {sleeper.pid}" in health.msg
    finally:
        instance.dispose()


@pytest.mark.slow
def test_dagster_daemon_run_monitoring_fails_a_killed_run_and_frees_its_slot(place):
    config = INSTANCE_TEMPLATE.read_text()
    faster = config.replace("poll_interval_seconds: 30", "poll_interval_seconds: 2").replace(
        "free_slots_after_run_end_seconds: 30", "free_slots_after_run_end_seconds: 2"
    )
    assert faster.count(": 2 ") == 2  # the shipped keys are there; only the intervals are shortened
    where = place(config=faster)
    process = spawn(where, "--full")
    killed = wait_for(lambda: slot_holder(where.instance), process, what="a step holding the slot")[0]
    process.kill()
    process.communicate()
    assert where.instance.get_run_by_id(killed).status == dg.DagsterRunStatus.STARTED

    log = (where.db.parent / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [sys.executable, "-c", RESET_SIGNALS_AND_EXEC, str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        env=where.env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = time.monotonic()
    try:
        wait_for(
            lambda: (
                where.instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE
                and all(run_id != killed for run_id, _step, _holds in claims(where.instance))
            ),
            daemon,
            timeout=90,
            what="run monitoring failing the killed run and freeing its slot",
        )
        took = time.monotonic() - started
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGKILL)  # the code server and any run worker it started
        daemon.wait(timeout=10)
        log.close()
    failure = where.instance.all_logs(killed, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert failure and "is gone" in failure[-1].dagster_event.message
    print(f"\ndagster-daemon freed the killed run's slot {took:.1f} s after it started")
