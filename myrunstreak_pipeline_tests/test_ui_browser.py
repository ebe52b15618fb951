"""The Dagster UI end to end: a real ``dagster dev`` against the sandbox, driven by headless Chromium.

One module-scoped ``dagster dev`` (webserver + daemon) serves every step; the steps run in file order and
each saves a screenshot under ``test-artifacts/ui/`` (git-ignored). Waits are for data-specific text, never
for a fixed time, so the screenshots show content rather than loading skeletons.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from myrunstreak_pipeline.cli.run import INSTANCE_TEMPLATE
from myrunstreak_pipeline.sandbox import SandboxServer
from myrunstreak_pipeline_tests.fixtures.browser import chromium, needs_chromium

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "ui"
BIN = Path(sys.executable).parent
TOKEN = "h7-ui-token-5b2e9d"  # sandbox-only; must never appear in the UI
LOCATION = "myrunstreak"
STARTUP_TIMEOUT = 120
RUN_TIMEOUT = 150
UI_TIMEOUT_MS = 45_000
# Resets SIGINT/SIGTERM to their defaults before exec: some CI shells start jobs with both ignored, and then
# `dagster dev` cannot be stopped.
RESET_SIGNALS_AND_EXEC = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.signal(signal.SIGTERM, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DagsterDev:
    """A ``dagster dev`` process group on 127.0.0.1 and a small GraphQL client for it."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                RESET_SIGNALS_AND_EXEC,
                str(BIN / "dagster"),
                "dev",
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # setsid
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dagster dev exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                if requests.get(f"{self.base}/server_info", timeout=2).ok and self._location_loaded():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError(f"dagster dev not ready after {STARTUP_TIMEOUT} s:\n{self.log_tail()}")

    def _location_loaded(self) -> bool:
        data = self.graphql("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }")
        entries = data["workspaceOrError"]["locationEntries"]
        return any(entry["name"] == LOCATION and entry["loadStatus"] == "LOADED" for entry in entries)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(
            f"{self.base}/graphql", json={"query": query, "variables": variables or {}}, timeout=30
        )
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def wait_run(self, run_id: str, timeout: float = RUN_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            data = self.graphql("query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run_id})
            status = data["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                return status
            time.sleep(1)
        raise AssertionError(f"run {run_id} still {status} after {timeout} s")

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGINT to the whole group (a clean shutdown), then SIGKILL whatever is left."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=20)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the daemon/code-server children, if any remain
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    work = tmp_path_factory.mktemp("ui")
    home = work / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE_TEMPLATE, home / "dagster.yaml")  # nux + telemetry off, duckdb pool of 1
    with SandboxServer(years=3, seed=17, token=TOKEN, rate_limit=0) as sandbox:
        first_year = min(a["startDateTimeLocal"][:4] for a in sandbox.athlete.activities)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SMASHRUN_", "MYRUNSTREAK_", "DAGSTER_"))
        }
        env.update(
            {
                "DAGSTER_HOME": str(home),
                "SMASHRUN_API_BASE": sandbox.api_base,
                "SMASHRUN_AUTH_BASE": sandbox.auth_base,
                "SMASHRUN_ACCESS_TOKEN": TOKEN,
                "MYRUNSTREAK_DB": str(work / "runs.duckdb"),
                "MYRUNSTREAK_HISTORY_START": f"{first_year}-01-01",
                "MYRUNSTREAK_DETAIL_BUDGET": "5",
                "MYRUNSTREAK_CALENDAR_DIR": str(work / "pictures"),
            }
        )
        server = DagsterDev(env, work / "dagster_dev.log")
        try:
            server.wait_ready()
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def page(ui):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.add_init_script("window.localStorage.setItem('communityNux', '1')")  # belt and braces with nux off
        try:
            yield context.new_page()
        finally:
            context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def repository(ui) -> dict:
    data = ui.graphql("""{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }
        jobs { name } schedules { name scheduleState { status } } sensors { name sensorState { status } } } } } }""")
    (repo,) = [node for node in data["repositoriesOrError"]["nodes"] if node["location"]["name"] == LOCATION]
    return repo


def expected_assets() -> set[str]:
    from myrunstreak_pipeline.definitions import build_defs

    return {key.to_user_string() for key in build_defs().resolve_all_asset_keys()}


def test_01_asset_graph_shows_every_asset(ui, page):
    from playwright.sync_api import expect

    nodes = ui.graphql("{ assetNodes { assetKey { path } } }")["assetNodes"]
    names = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert names == expected_assets() and "streak_calendar" in names

    page.goto(f"{ui.base}/assets")
    for name in sorted(names):
        expect(page.locator(f"a[href='/assets/{name}']").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("Never materialized").first).to_be_visible(timeout=UI_TIMEOUT_MS)  # statuses loaded
    shot(page, "01_assets_list")

    # the lineage graph, one group at a time (the global view starts with groups collapsed)
    groups = ui.graphql("{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    for group in ("ingest", "analytics"):
        members = {"/".join(n["assetKey"]["path"]) for n in groups if n["groupName"] == group}
        page.goto(f"{ui.base}/asset-groups~group%3A%22{group}%22")
        for name in members:
            expect(page.get_by_text(name, exact=True).first).to_be_visible(timeout=UI_TIMEOUT_MS)
        page.wait_for_load_state("networkidle")
        shot(page, f"02_lineage_{group}")
    assert TOKEN not in page.content()


def test_02_materialize_everything_through_graphql(ui, page):
    keys = ui.graphql("""{ assetNodeOrError(assetKey: {path: ["runs"]}) { ... on AssetNode {
        partitionKeysByDimension { partitionKeys } } } }""")["assetNodeOrError"]["partitionKeysByDimension"][0]
    partitions = keys["partitionKeys"]
    launch = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
        ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } ... on RunConfigValidationInvalid {
        errors { message } } } }"""
    selector = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "jobName": "sync_job"}
    # the whole history as ONE single-run backfill (range tags), then the current year again: two points per plot
    for tags in (
        [
            {"key": "dagster/asset_partition_range_start", "value": partitions[0]},
            {"key": "dagster/asset_partition_range_end", "value": partitions[-1]},
        ],
        [{"key": "dagster/partition", "value": partitions[-1]}],
    ):
        result = ui.graphql(
            launch, {"p": {"selector": selector, "executionMetadata": {"tags": tags}, "runConfigData": {}}}
        )["launchRun"]
        assert result["__typename"] == "LaunchRunSuccess", result
        status = ui.wait_run(result["run"]["runId"])
        assert status == "SUCCESS", ui.log_tail()

    page.goto(f"{ui.base}/runs")
    from playwright.sync_api import expect

    expect(page.get_by_text("Success").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    shot(page, "03_runs")


def test_03_current_streak_page_shows_card_and_plot(ui, page):
    from playwright.sync_api import expect

    page.goto(f"{ui.base}/assets/current_streak")
    card = page.get_by_text("Streak card as of").first
    expect(card).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("Longest streak").first).to_be_visible()
    card.scroll_into_view_if_needed()
    shot(page, "04_current_streak_card")

    # Metadata section: Table | Plots; the plots are canvases, one per numeric metadata key
    page.get_by_role("button", name="Plots").click()
    expect(page.get_by_text("current_streak_days").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.locator("canvas").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.get_by_role("button", name="Plots").scroll_into_view_if_needed()
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(500)  # let the scroll settle (the charts are already drawn)
    shot(page, "05_current_streak_plots")
    assert TOKEN not in page.content()


def test_04_streak_calendar_page_shows_the_picture(ui, page):
    from playwright.sync_api import expect

    page.goto(f"{ui.base}/assets/streak_calendar")
    expect(page.get_by_text("streak_calendar.png").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.get_by_text("[Show Markdown]").first.click()  # the "preview" markdown metadata opens in a dialog
    image = page.locator("img[src^='data:image/png']").first
    expect(image).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert image.evaluate("img => img.naturalWidth") > 100
    shot(page, "06_streak_calendar")


def test_05_schedule_and_sensor_are_listed_and_running(ui, page):
    from playwright.sync_api import expect

    repo = repository(ui)
    assert {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]} == {"daily_sync": "RUNNING"}
    # the drop-folder sensor is off while MYRUNSTREAK_IMPORT_DIR is unset, the reminder while MYRUNSTREAK_NOTIFY_URL is
    sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
    assert sensors == {
        "smashrun_changes": "RUNNING",
        "activity_files_arrived": "STOPPED",
        "streak_reminder": "STOPPED",
    }
    page.goto(f"{ui.base}/automation")
    for name in ("daily_sync", "smashrun_changes"):
        expect(page.get_by_role("link", name=name).first).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("05:00").first).to_be_visible(timeout=UI_TIMEOUT_MS)  # rows past their skeletons
    page.wait_for_load_state("networkidle")
    shot(page, "07_automation")


def test_06_partition_backfill_from_the_ui(ui, page):
    from playwright.sync_api import expect

    before = backfill_ids(ui)
    page.goto(f"{ui.base}/assets/raw_activity_summaries")
    expect(page.get_by_text("Latest materialization").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.get_by_role("button", name="Materialize…").click()
    # raw_activity_summaries and runs come from one multi-asset: the UI asks to confirm both
    expect(page.get_by_text("Additional assets will be materialized")).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Launch runs to materialize").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    dialog = page.locator("[role=dialog]").last
    show_all = page.get_by_text("Show all partitions")
    if show_all.count():  # only shown for long partition lists
        show_all.first.click()
    page.get_by_role("button", name="Custom").click()
    keys = partition_keys(ui)
    chosen = keys[:2]
    field = dialog.locator("input[type=text]").first
    field.fill(f"[{chosen[0]}...{chosen[-1]}]")
    field.press("Enter")
    shot(page, "08_backfill_dialog")
    page.get_by_role("button", name="Launch backfill").click()

    deadline = time.monotonic() + 30
    new = []
    while time.monotonic() < deadline and not new:
        new = [b for b in backfills(ui) if b["id"] not in before]
        time.sleep(0.5)
    assert len(new) == 1, "no backfill appeared"
    assert sorted(new[0]["partitionNames"]) == chosen
    page.goto(f"{ui.base}/runs/b/{new[0]['id']}?tab=partitions")
    expect(page.get_by_text(new[0]["id"]).first).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("Partition selection").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    shot(page, "09_backfill")


def partition_keys(ui) -> list[str]:
    data = ui.graphql("""{ assetNodeOrError(assetKey: {path: ["raw_activity_summaries"]}) { ... on AssetNode {
        partitionKeysByDimension { partitionKeys } } } }""")
    return data["assetNodeOrError"]["partitionKeysByDimension"][0]["partitionKeys"]


def backfills(ui) -> list[dict]:
    data = ui.graphql("""{ partitionBackfillsOrError(limit: 20) { ... on PartitionBackfills {
        results { id status numPartitions partitionNames } } } }""")
    return data["partitionBackfillsOrError"]["results"]


def backfill_ids(ui) -> set[str]:
    return {b["id"] for b in backfills(ui)}


def test_07_no_secret_in_the_event_log(ui):
    data = ui.graphql("{ runsOrError(limit: 10) { ... on Runs { results { runId } } } }")
    for run in data["runsOrError"]["results"]:
        logs = ui.graphql(
            """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection {
            events { __typename ... on MessageEvent { message } } } } }""",
            {"id": run["runId"]},
        )
        assert TOKEN not in json.dumps(logs)
