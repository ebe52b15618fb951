"""``myrunstreak run [--full]``: materialize the asset graph through Dagster, in this process.

Incremental by default: the years changed upstream since the stored cursor (plus deletions found by id
reconciliation) through the current year, as ONE single-run backfill, then details and analytics.
``--full`` loads the whole history as one single-run backfill. Runs are recorded in DAGSTER_HOME's
instance (default ``.myrunstreak/dagster_home``) so ``dagster dev`` shows them.

Before the run, runs whose process is gone are marked failed and their pool slots freed, and the run waits
(sleeping, at most ``MYRUNSTREAK_POOL_TIMEOUT`` seconds) while a live run holds the database's pool
(recovery.py). Exit status: 0 success; 1 the run failed (one ``error:`` line with the first step's message
and hint, Dagster's own log stays in the UI unless ``-v``); 2 a user error before or instead of the run,
including a pool wait that timed out (``error:`` + ``hint:`` naming the run that holds the pool); 130
interrupted (Ctrl-C / SIGTERM: the run is marked ended and its slots freed; a second signal quits at once).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import select
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from myrunstreak_pipeline.errors import MyRunStreakError

if TYPE_CHECKING:
    from myrunstreak_pipeline.settings import Settings

INSTANCE_TEMPLATE = Path(__file__).with_name("dagster_instance.yaml")
# sha256 of dagster.yaml files earlier versions copied: an untouched one is replaced by the current template
EARLIER_TEMPLATES = {"c75415bbc457a3b22e19289fa9601710b3d4d92c5e16198c535cf5e5f592af93"}
INTERRUPT_GRACE_SECONDS = 3.0  # after Ctrl-C, how long Dagster gets to stop the run before the CLI exits anyway
GUARD_POLL_SECONDS = 0.5
POOL_CHECK_SECONDS = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full", action="store_true", help="reload the whole history (one single-run backfill)")


def ensure_dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME (absolute), created with the project's dagster.yaml when it has none. Exported to this
    process's environment, where ``DagsterInstance.get()`` looks for it."""
    home = Path(settings.dagster_home).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or hashlib.sha256(config.read_bytes()).hexdigest() in EARLIER_TEMPLATES:
        shutil.copyfile(INSTANCE_TEMPLATE, config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def command(args: argparse.Namespace) -> int:
    from myrunstreak_pipeline.settings import Settings

    return run_pipeline(Settings.from_env(), full=args.full, verbose=getattr(args, "verbose", False))


def run_pipeline(settings: Settings, *, full: bool, verbose: bool = False) -> int:
    """Preflight checks, crash recovery and the pool wait, the plan, then one in-process Dagster run of
    ``sync_job``; the exit status (module doc)."""
    started = time.perf_counter()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # Dagster's storage migrations: noise on stdout
    from myrunstreak_pipeline.cli.preflight import check_before_run

    check_before_run(settings)  # no credentials / unreachable API / bad DB path: one line + hint, no run
    home = ensure_dagster_home(settings)
    import dagster as dg  # heavy: imported only when a run is actually made
    from dagster._core.utils import make_new_run_id

    from myrunstreak_pipeline.cli import recovery
    from myrunstreak_pipeline.definitions import build_defs
    from myrunstreak_pipeline.defs.automation import range_tags
    from myrunstreak_pipeline.defs.common import POOL

    instance = dg.DagsterInstance.get()
    with RunGuard(instance, POOL, settings.pool_timeout_seconds) as guard:
        # Runs killed earlier (their process is gone) still hold the pool: end them, then wait for a live holder.
        recovery.wait_for_pool(instance, POOL, settings.pool_timeout_seconds)
        _print_progress_lines()
        job = build_defs(settings).resolve_job_def("sync_job")
        keys = job.partitions_def.get_partition_keys()
        first, tags, why = plan_run(settings, keys, full=full)
        count = len(keys) - keys.index(first)
        print(f"{why}: partitions {first}..{keys[-1]} ({count} of {len(keys)}) in one run; DAGSTER_HOME={home}")
        tags = {**tags, **recovery.process_tags()}  # the next run can tell whether this one's process is gone
        if first == keys[-1]:  # one partition: a plain partitioned run
            selection = {"partition_key": first, "tags": tags}
        else:  # a range: ONE single-run backfill (range tags)
            selection = {"tags": {**range_tags(first, keys[-1]), **tags}}
        errors: dict[str, BaseException] = {}
        run_id = make_new_run_id()
        guard.run_id = run_id
        try:
            result = job.with_hooks({_failure_recorder(errors)}).execute_in_process(
                instance=instance,
                run_id=run_id,
                **selection,
                # Dagster's console log (step failures: 75+ lines of traceback) only with -v; the UI keeps it all
                run_config={"loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}}},
                raise_on_error=False,
            )
        except BaseException:
            recovery.end_run(instance, run_id, "myrunstreak run stopped before the run ended", canceled=True)
            raise
        finally:
            guard.run_id = None
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)  # a finished run holds nothing
    print(progress_summary(result, count))
    print(f"run {result.run_id} {'succeeded' if result.success else 'FAILED'} in {time.perf_counter() - started:.1f} s")
    if guard.signals:
        print(f"error: interrupted: run {result.run_id} was stopped", file=sys.stderr)
        return 130
    if not result.success:
        print(failure_line(result, errors), file=sys.stderr)
    return 0 if result.success else 1


def _failure_recorder(errors: dict[str, BaseException]):
    """A failure hook keeping each failed step's exception: its hint does not survive Dagster's serialization."""
    import dagster as dg

    @dg.failure_hook(name="myrunstreak_remember_failure")
    def remember_failure(context: dg.HookContext) -> None:
        if context.op_exception is not None:
            errors.setdefault(context.step_key, context.op_exception)

    return remember_failure


def failure_line(result, errors: dict[str, BaseException]) -> str:
    """One line for a failed run: the first failure's user message and hint, or what failed and where to look."""
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if error is None or not (event.is_step_failure or event.is_resource_init_failure or event.is_run_failure):
            continue
        live = errors.get(event.step_key or "")
        if isinstance(live, MyRunStreakError):
            return _error_text(str(live), live.hint)
        message, hint, is_user_error = _from_error_info(error)
        if is_user_error:
            return _error_text(message, hint)
        where = f"step {event.step_key}" if event.step_key else "the run"
        return (
            f"error: {where} failed: {message} (run {result.run_id} in the Dagster UI has the traceback; -v prints it)"
        )
    return f"error: run {result.run_id} failed (see it in the Dagster UI, or rerun with -v)"


def _error_text(message: str, hint: str | None) -> str:
    return f"error: {message}" + (f" (hint: {hint})" if hint else "")


def _from_error_info(error) -> tuple[str, str | None, bool]:
    """(message, hint, is a MyRunStreakError) from a SerializableErrorInfo chain: a user error anywhere in the
    causes wins; otherwise the innermost cause. A hint survives only as an exception note (``hint: …``)."""
    names = _subclass_names(MyRunStreakError)
    chain = []
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.cause or error.context
    node = next((e for e in chain if e.cls_name in names), chain[-1])
    lines = [line.strip() for line in node.message.strip().splitlines() if line.strip()]
    first = lines[0] if lines else node.cls_name
    prefix = first.split(": ", 1)[0]
    message = first.split(": ", 1)[1] if ": " in first and prefix.rsplit(".", 1)[-1] == node.cls_name else first
    hint = next((line[len("hint: ") :] for line in lines[1:] if line.startswith("hint: ")), None)
    if node.cls_name not in names:
        message = f"{node.cls_name}: {message}"
    return message, hint, node.cls_name in names


def _subclass_names(cls: type) -> set[str]:
    names = {cls.__name__}
    for sub in cls.__subclasses__():
        names |= _subclass_names(sub)
    return names


class RunGuard:
    """While ``myrunstreak run`` works: Ctrl-C / SIGTERM always end it, and no step waits for the pool forever.

    Dagster's ``execute_in_process`` turns SIGINT/SIGTERM into a flag it looks at only when a step starts, and
    its pool-claim loop spins without looking. So a watcher thread also reads the signals (``set_wakeup_fd``):
    the first lets Dagster stop the run, a second one, or ``INTERRUPT_GRACE_SECONDS`` without an end, marks the
    run canceled, frees its slots and exits (130). The thread also ends stale holders while a step waits for
    the pool, and fails the run (exit 2, naming the holder) when the wait passes the pool timeout. SIGTERM
    outside the run raises KeyboardInterrupt, like Ctrl-C."""

    def __init__(self, instance, pool: str, timeout: float, grace: float = INTERRUPT_GRACE_SECONDS):
        self.instance, self.pool, self.timeout, self.grace = instance, pool, timeout, grace
        self.run_id: str | None = None
        self.signals: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunGuard:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals belong to the main thread; nothing to guard
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._old_term = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        self._thread = threading.Thread(target=self._watch, name="myrunstreak-run-guard", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5)
        signal.set_wakeup_fd(self._old_fd)
        signal.signal(signal.SIGTERM, self._old_term)
        self._reader.close()
        self._writer.close()

    def _watch(self) -> None:
        blocked_since, next_check, interrupted_at = None, 0.0, None
        while not self._stop.is_set():
            if select.select([self._reader], [], [], GUARD_POLL_SECONDS)[0]:
                try:
                    received = self._reader.recv(64)
                except OSError:
                    received = b""
                for signum in received:
                    if signum in (signal.SIGINT, signal.SIGTERM):
                        self.signals.append(signum)
                        interrupted_at = interrupted_at or time.monotonic()
                        if len(self.signals) == 1:
                            print("interrupted: stopping (press Ctrl-C again to quit at once)", file=sys.stderr)
            now = time.monotonic()
            if self._stop.is_set():
                return
            if len(self.signals) > 1 or (interrupted_at is not None and now - interrupted_at > self.grace):
                self._exit(130, ["error: interrupted"], "myrunstreak run was interrupted", canceled=True)
            if self.run_id is not None and now >= next_check:
                next_check = now + POOL_CHECK_SECONDS
                try:
                    blocked_since = self._check_pool(self.run_id, blocked_since, now)
                except Exception:  # noqa: BLE001 - a storage hiccup must not kill the watcher
                    pass

    def _check_pool(self, run_id: str, blocked_since: float | None, now: float) -> float | None:
        from myrunstreak_pipeline.cli import recovery

        info = self.instance.event_log_storage.get_concurrency_info(self.pool)
        if not any(step.run_id == run_id and step.assigned_timestamp is None for step in info.pending_steps):
            return None
        for line in recovery.recover_stale_runs(self.instance, exclude=run_id):
            print(line, file=sys.stderr)
        blocked_since = blocked_since or now
        if now - blocked_since >= self.timeout:
            holders, _ = recovery.pool_holders(self.instance, self.pool, exclude=run_id)
            error = recovery.pool_timeout_error(self.instance, self.pool, holders, now - blocked_since)
            self._exit(2, [f"error: {error}", f"hint: {error.hint}"], f"failed: {error}", canceled=False)
        return blocked_since

    def _exit(self, code: int, lines: list[str], message: str, *, canceled: bool) -> None:
        """End our run in the instance (when there is one), free its slots, print ``lines``, exit now."""
        from myrunstreak_pipeline.cli import recovery

        run_id, lines = self.run_id, list(lines)
        try:
            if run_id is not None:
                recovery.end_run(self.instance, run_id, f"myrunstreak run {message}", canceled=canceled)
                lines[0] += f" (run {run_id} marked {'canceled' if canceled else 'failed'}, its pool slots freed)"
        finally:
            sys.stdout.flush()
            print("\n".join(lines), file=sys.stderr, flush=True)
            os._exit(code)


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _print_progress_lines() -> None:
    """Show the steps' progress lines (defs.common.log_progress) live on stdout while the run executes."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  %(asctime)s  %(message)s", datefmt="%H:%M:%S"))
    progress = logging.getLogger("myrunstreak.progress")
    progress.addHandler(handler)
    progress.setLevel(logging.INFO)
    progress.propagate = False  # already printed; the root logger (-v) would print it twice


def plan_run(settings, keys: list[str], *, full: bool) -> tuple[str, dict[str, str], str]:
    """(first partition to load, extra run tags, reason). The last partition is always the current year."""
    from myrunstreak_pipeline.defs.common import UPDATED_SINCE_TAG
    from myrunstreak_pipeline.defs.resources import DuckDBStorage
    from myrunstreak_pipeline.smashrun.client import SmashRunClient
    from myrunstreak_pipeline.smashrun.sync import plan_changes, stored_cursor

    if full:
        return keys[0], {}, "full history"
    storage = DuckDBStorage.from_settings(settings)
    cursor = stored_cursor(storage)
    if cursor is None:
        return keys[0], {}, "no sync cursor yet, so the full history"
    with SmashRunClient.from_settings(settings) as client:
        plan = plan_changes(client, storage, cursor)
    changed = [year for year in plan.years if year in keys]
    first = min([*changed, keys[-1]])
    new_cursor = max(cursor, plan.new_cursor or 0.0)
    note = f"; {plan.note}" if plan.note else ""
    why = f"incremental ({len(plan.updated_years)} year(s) updated, {len(plan.deleted_years)} with deletions{note})"
    return first, {UPDATED_SINCE_TAG: str(int(new_cursor))}, why


def progress_summary(result, partitions: int) -> str:
    done = {e.partition for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "runs"}
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    runs, details = meta.get("runs", {}), meta.get("raw_activity_details", {})

    def value(metadata, key, default="?"):
        return metadata[key].value if key in metadata else default

    lines = [
        f"partitions done {len(done)}/{partitions}",
        f"activities loaded {value(runs, 'loaded')} (quarantined {value(runs, 'quarantined')}, "
        f"flagged deleted {value(runs, 'marked_deleted')})",
        f"detail requests used {value(details, 'detail_requests_used')}/{value(details, 'detail_request_budget')}"
        f"{_left(details)}, "
        f"runs still needing details {value(details, 'runs_needing_details')}",
    ]
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    if failed:
        lines.append(f"failed steps: {', '.join(failed)} (see the run in the Dagster UI)")
    return "; ".join(lines)


def _left(details) -> str:
    """How many detail requests this run's budget still had, when the details step reported it."""
    if "detail_requests_used" not in details or "detail_request_budget" not in details:
        return ""
    left = int(details["detail_request_budget"].value) - int(details["detail_requests_used"].value)
    return f" ({max(left, 0)} left in the budget)"
