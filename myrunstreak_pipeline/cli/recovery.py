"""Crash recovery for ``myrunstreak run``: runs whose process is gone, the pool slots they hold, the wait.

A SIGKILLed run (OOM, closed lid, ``kill -9``) stays STARTED in the Dagster instance and keeps its claim on the
``duckdb`` pool (limit 1), so every later run would wait forever. Only Dagster's own APIs are used here:

* ``myrunstreak run`` tags each run with its process (``myrunstreak/pid``, ``/host``, ``/process_start``: the
  start time guards against a reused pid). Runs launched by ``dagster dev`` have no such tags; their run
  worker's pid comes from the run's "Started process for run (pid: …)" / "Executing steps in process" engine
  events, checked against the run's own time line.
* ``recover_stale_runs`` marks every unfinished run whose process is gone failed (``report_run_failed``;
  CANCELING ones ``report_run_canceled``) and frees its claims (``free_concurrency_slots_for_run``), and frees
  the claims still held by finished or deleted runs.
* ``wait_for_pool`` waits (sleeping, bounded by ``MYRUNSTREAK_POOL_TIMEOUT``) while a live run holds the pool,
  then gives up naming that run.
* ``ProcessCheckingRunLauncher`` is the instance's run launcher (dagster_instance.yaml): Dagster's
  ``DefaultRunLauncher`` plus the worker health check that run monitoring needs for STARTED runs, so the
  ``dagster dev`` / ``dagster-daemon`` monitoring daemon fails a dead run and, after
  ``free_slots_after_run_end_seconds``, frees its slots. The default launcher has no health check: without
  this a killed run stays STARTED under ``dagster dev`` forever.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG

from myrunstreak_pipeline.errors import MyRunStreakError

PID_TAG = "myrunstreak/pid"
HOST_TAG = "myrunstreak/host"
PROCESS_START_TAG = "myrunstreak/process_start"  # inspect_process's identity: a reused pid has another one
START_TOLERANCE_SECONDS = 2.0  # start times from /proc's boot time and `ps` are whole seconds
POOL_POLL_SECONDS = 2.0
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}


# ---------------------------------------------------------------------------------------- processes


def inspect_process(pid: int) -> tuple[str, float] | None:
    """(identity, start time) of process ``pid``; None when there is none or it is a zombie (killed, not reaped).

    The identity is the start time in the kernel's own terms (Linux: clock ticks since boot plus the boot id;
    elsewhere ``ps``'s start time), equal for as long as the process lives whatever the wall clock does, and
    different for a later process given the same pid. ``""`` / NaN when it exists but cannot be told apart."""
    if Path("/proc/self/stat").exists():  # Linux
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        if fields[0] in ("Z", "X"):
            return None
        ticks = int(fields[19])
        return f"{ticks}@{_read('/proc/sys/kernel/random/boot_id')}", _boot_time() + ticks / os.sysconf("SC_CLK_TCK")
    try:  # macOS / BSD: ps prints the state and the full start time
        out = subprocess.run(
            ["/bin/ps", "-o", "stat=,lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            env={"LC_ALL": "C"},
        ).stdout.split(maxsplit=1)
    except (OSError, subprocess.SubprocessError):
        return _exists(pid)
    if len(out) != 2 or out[0].startswith("Z"):
        return None
    try:
        return out[1].strip(), time.mktime(time.strptime(out[1].strip(), "%a %b %d %H:%M:%S %Y"))
    except ValueError:
        return out[1].strip(), math.nan


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _boot_time() -> float:
    for line in _read("/proc/stat").splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0


def _exists(pid: int) -> tuple[str, float] | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "", math.nan


def this_host() -> str:
    return socket.gethostname()


def process_tags() -> dict[str, str]:
    """Tags naming this process, added to every run ``myrunstreak run`` makes."""
    found = inspect_process(os.getpid())
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: this_host()}
    if found and found[0]:
        tags[PROCESS_START_TAG] = found[0]
    return tags


@dataclass(frozen=True)
class Worker:
    """The process that runs (or ran) a Dagster run, as far as the instance knows."""

    pid: int | None = None
    host: str | None = None
    identity: str | None = None  # recorded by `myrunstreak run` (inspect_process)
    not_after: float | None = None  # the process existed by then (an engine event's time)

    def state(self) -> str:
        """``alive``, ``gone`` or ``unknown`` (no pid, or another host: never treated as gone)."""
        if self.pid is None or (self.host or "") not in LOCAL_HOSTS | {this_host()}:
            return "unknown"
        found = inspect_process(self.pid)
        if found is None:
            return "gone"
        identity, started = found
        if self.identity and identity and identity != self.identity:
            return "gone"  # the pid now belongs to another process
        if self.not_after is not None and started > self.not_after + START_TOLERANCE_SECONDS:
            return "gone"  # started after the run's worker was already running: a reused pid
        if self.pid == os.getpid() and self.identity:
            return "gone"  # a run this very process left unfinished (run_pipeline is not re-entrant)
        return "alive"

    def describe(self) -> str:
        if self.pid is None:
            return "process unknown"
        return f"pid {self.pid} on {self.host}" if self.host else f"pid {self.pid}"


def worker_of(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Worker:
    tags = run.tags
    if PID_TAG in tags:
        return Worker(int(tags[PID_TAG]), tags.get(HOST_TAG), tags.get(PROCESS_START_TAG))
    if run.status not in (dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING):
        return Worker()  # queued / starting: no worker yet (run monitoring's start timeout covers these)
    host = _grpc_host(tags.get(GRPC_INFO_TAG))
    worker = Worker(host=host)
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        pid = event.engine_event_data.metadata.get("pid") if event and event.engine_event_data else None
        if pid is not None and str(pid.value).isdigit():
            worker = Worker(int(pid.value), host, None, entry.timestamp)  # the last one is the step executor
    return worker


def _grpc_host(info: str | None) -> str:
    import json

    try:
        return str(json.loads(info).get("host") or "") if info else ""
    except ValueError:
        return "?"


# ---------------------------------------------------------------------------------------- recovery


def recover_stale_runs(instance: dg.DagsterInstance, *, exclude: str | None = None) -> list[str]:
    """Fail the unfinished runs whose process is gone and free their claims; free the claims of finished or
    deleted runs. ``exclude``: our own run, while it executes. Returns one line per run recovered."""
    lines = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        if run.run_id == exclude:
            continue
        worker = worker_of(instance, run)
        if worker.state() != "gone":
            continue
        message = (
            f"myrunstreak run: the process of this run ({worker.describe()}) is gone (killed or crashed); "
            "marked as ended and its concurrency-pool slots freed"
        )
        canceling = run.status == dg.DagsterRunStatus.CANCELING
        end_run(instance, run.run_id, message, canceled=canceling)
        marked = "canceled" if canceling else "failed"
        lines.append(f"recovered run {run.run_id} ({worker.describe()}, gone): marked {marked}, pool slots freed")
    for run_id in _claiming_run_ids(instance) - {exclude}:
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            continue
        if run is not None and worker_of(instance, run).state() == "alive":
            continue  # finished a moment ago and still exiting: it frees its own slots
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        status = run.status.value if run is not None else "deleted"
        lines.append(f"freed the pool slots still held by run {run_id} ({status})")
    _assign_free_slots(instance)
    return lines


def _assign_free_slots(instance: dg.DagsterInstance) -> None:
    """Hand free slots to waiting steps, as Dagster does when a claim is freed (a slot freed without its pending
    row would otherwise leave the queue waiting)."""
    storage = instance.event_log_storage
    if not hasattr(storage, "has_unassigned_slots") or not storage.supports_global_concurrency_limits:
        return
    for key in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(key)
        if info.pending_step_count and storage.has_unassigned_slots(key):
            storage.assign_pending_steps([key])


def _claiming_run_ids(instance: dg.DagsterInstance) -> set[str]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return set()
    run_ids = set(storage.get_concurrency_run_ids())  # runs with pending or assigned steps
    for info in storage.get_concurrency_infos(sorted(storage.get_concurrency_keys())).values():
        run_ids |= {slot.run_id for slot in info.claimed_slots}
    return run_ids


# ---------------------------------------------------------------------------------------- the pool


def pool_holders(instance: dg.DagsterInstance, pool: str, *, exclude: str | None = None) -> tuple[list[str], bool]:
    """(the other runs holding or assigned a slot of ``pool``, whether those leave no slot free)."""
    if not instance.event_log_storage.supports_global_concurrency_limits:
        return [], False
    info = instance.event_log_storage.get_concurrency_info(pool)
    held = {(slot.run_id, slot.step_key) for slot in info.claimed_slots}
    held |= {(step.run_id, step.step_key) for step in info.pending_steps if step.assigned_timestamp is not None}
    held = {(run_id, step) for run_id, step in held if run_id != exclude}
    holders = sorted({run_id for run_id, _step in held})
    return holders, bool(info.limit) and len(held) >= info.limit


def describe_run(instance: dg.DagsterInstance, run_id: str) -> str:
    record = next(iter(instance.get_run_records(filters=dg.RunsFilter(run_ids=[run_id]), limit=1)), None)
    if record is None:
        return f"run {run_id} (deleted)"
    run = record.dagster_run
    parts = [worker_of(instance, run).describe(), run.status.value]
    if record.start_time:
        parts.append(f"started {dt.datetime.fromtimestamp(record.start_time):%Y-%m-%d %H:%M:%S}")
    return f"run {run_id} ({', '.join(parts)})"


def pool_timeout_error(instance: dg.DagsterInstance, pool: str, holders: list[str], waited: float) -> MyRunStreakError:
    holder = describe_run(instance, holders[0]) if holders else "another run"
    run = instance.get_run_by_id(holders[0]) if holders else None
    pid = worker_of(instance, run).pid if run is not None else None
    stop = f"stop it (`kill {pid}`)" if pid else "terminate it in the Dagster UI"
    return MyRunStreakError(
        f"the database stayed busy for {waited:.0f} s: {holder} holds Dagster pool '{pool}'",
        hint=f"let that run finish or {stop}; a run whose process is gone is recovered by the next "
        "`myrunstreak run`; MYRUNSTREAK_POOL_TIMEOUT sets how long to wait",
    )


def wait_for_pool(instance: dg.DagsterInstance, pool: str, timeout: float, *, say=print, sleep=time.sleep) -> None:
    """Return when ``pool`` has a free slot (recovering dead holders on the way); sleep between looks; raise a
    ``MyRunStreakError`` naming the holder after ``timeout`` seconds."""
    started = time.monotonic()
    announced = False
    while True:
        for line in recover_stale_runs(instance):
            say(line)
        holders, full = pool_holders(instance, pool)
        if not full:
            return
        waited = time.monotonic() - started
        if waited >= timeout:
            raise pool_timeout_error(instance, pool, holders, waited)
        if not announced:
            say(f"waiting up to {timeout:.0f} s for the database: {describe_run(instance, holders[0])} holds it")
            announced = True
        sleep(min(POOL_POLL_SECONDS, max(timeout - waited, 0.05)))


def end_run(instance: dg.DagsterInstance, run_id: str, message: str, *, canceled: bool) -> None:
    """Mark a run ended from outside its execution (its process is gone, or ours exits at once) and free its
    claims."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        if canceled:
            instance.report_run_canceled(run, message)
        else:
            instance.report_run_failed(run, message)
    instance.event_log_storage.free_concurrency_slots_for_run(run_id)


# ---------------------------------------------------------------------------------------- run monitoring


class ProcessCheckingRunLauncher(dg.DefaultRunLauncher):
    """Dagster's default launcher plus a run-worker health check from the run's process (see the module doc):
    run monitoring (``dagster dev`` / ``dagster-daemon``) then fails STARTED runs whose process is gone."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        worker = worker_of(self._instance, run)
        if worker.state() == "gone":
            return CheckRunHealthResult(WorkerStatus.FAILED, f"the run's process ({worker.describe()}) is gone")
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"{worker.describe()}: {worker.state()}")
