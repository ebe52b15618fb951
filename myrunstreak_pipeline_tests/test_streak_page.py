"""The streak page (``GET /``) end to end: a real ``myrunstreak serve`` over HTTP, read by headless Chromium.

The database holds ~1,450 days of runs ending today (UTC): a 1,100-day streak long ago, a gap with one-day
streaks, then a 299-day streak through yesterday and a short 1.2 km run today, so the page shows an
``at_risk`` streak with distance still needed today. The page must show exactly what ``/v1/streak`` says, at
phone (375 px) and desktop (1280 px) width, without horizontal scrolling, console errors or any request
leaving 127.0.0.1. Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository
from myrunstreak_pipeline_tests.fixtures.browser import chromium, needs_chromium
from myrunstreak_pipeline_tests.fixtures.payloads import gps_run, local_start
from myrunstreak_pipeline_tests.fixtures.serve import served

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "myrunstreak_pipeline" / "api" / "static" / "index.html"
ARTIFACTS = ROOT / "test-artifacts"
UI_TIMEOUT_MS = 30_000
KM_PER_MILE = 1.609344
VIEWPORTS = {375: {"width": 375, "height": 812}, 1280: {"width": 1280, "height": 900}}

TODAY = dt.datetime.now(dt.UTC).date()  # the server runs with MYRUNSTREAK_TIMEZONE=UTC
LONGEST_DAYS, CURRENT_DAYS, TODAY_KM = 1_100, 299, 1.2


def _history(today: dt.date) -> list[dict]:
    """Real-shaped SmashRun summaries, one a day, deterministic distances of 3-12 km with a monthly half."""
    days = [today - dt.timedelta(days=n) for n in range(1_500, 400, -1)]  # the longest streak: 1,100 days
    days += [today - dt.timedelta(days=n) for n in range(398, CURRENT_DAYS + 1, -3)]  # one-day streaks
    days += [today - dt.timedelta(days=n) for n in range(CURRENT_DAYS, 0, -1)]  # current, through yesterday
    payloads = []
    for index, day in enumerate(days):
        km = 21.3 if index % 30 == 7 else 3 + (index * 37 % 90) / 10
        payloads.append(_payload(60_000_000 + index, day, km))
    payloads.append(_payload(70_000_000, today, TODAY_KM))  # today: not a mile yet
    return payloads


def _payload(activity_id: int, day: dt.date, km: float) -> dict:
    stamp = f"{day.isoformat()}T00:06:00"
    return gps_run(
        activity_id,
        start=local_start(day, "00:05", "+00:00"),
        distance=km,
        duration=round(km * (300 + activity_id % 60), 3),
        updated=stamp + ".000",
        dateCreatedUTC=stamp + ".000",
        syncDateTimeUTC=stamp,
    )


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("streak_page") / "runs.duckdb"
    with DuckDBManager(str(path)) as manager:
        result = RunRepository(manager.connection).upsert_activities(_history(TODAY))
    assert result.quarantined == 0
    return path


@pytest.fixture(scope="module")
def server(database, tmp_path_factory):
    """``myrunstreak serve --port 0`` as a subprocess (the way a runner starts it); yields the base URL it prints."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SMASHRUN_", "MYRUNSTREAK_"))}
    env["MYRUNSTREAK_TIMEZONE"] = "UTC"
    log_path = tmp_path_factory.mktemp("serve_log") / "serve.log"
    with served(database, log_path, env=env, args=("--host", "127.0.0.1")) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


class Visit:
    """One page load in a fresh context, with every console error and request recorded."""

    def __init__(self, browser, base: str, width: int, *, color_scheme: str = "light"):
        self.context = browser.new_context(viewport=VIEWPORTS[width], locale="en-US", color_scheme=color_scheme)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.base = base

    def open(self, path: str = "/") -> None:
        self.page.goto(self.base + path)

    def value(self, testid: str) -> str:
        return self.page.get_by_test_id(testid).get_attribute("data-value")

    def text(self, testid: str) -> str:
        return self.page.get_by_test_id(testid).inner_text().strip()

    def close(self) -> None:
        self.context.close()


LOADED = """() => {
  const filled = (id) => { const n = document.querySelector(`[data-testid="${id}"]`); return n && n.dataset.value; };
  return filled("current-days") && filled("eddington-km") !== undefined && document.querySelector("#calendar svg")
    && document.querySelectorAll('[data-testid="month-bar"]').length > 0 && document.querySelector("#records table");
}"""


def _needed_text(km: float) -> str:
    return f"{math.ceil(km * 100 - 1e-9) / 100:,.2f}"  # the page rounds a distance still to run up


@needs_chromium
@pytest.mark.browser
@pytest.mark.parametrize("width", sorted(VIEWPORTS))
def test_page_shows_the_streak_api_numbers(server, browser, width):
    streak = requests.get(f"{server}/v1/streak", timeout=10).json()
    # the fixture's history, as the API reports it
    assert streak["current"]["days"] == CURRENT_DAYS and streak["current"]["status"] == "at_risk"
    assert streak["longest"]["days"] == LONGEST_DAYS
    assert streak["today"]["needed_km"] == pytest.approx(KM_PER_MILE - TODAY_KM)

    visit = Visit(browser, server, width)
    try:
        visit.open()
        visit.page.wait_for_function(LOADED, timeout=UI_TIMEOUT_MS)
        current, longest, today = streak["current"], streak["longest"], streak["today"]
        assert visit.value("current-days") == str(current["days"])
        assert visit.text("current-days") == f"{current['days']:,}"
        assert visit.value("current-start") == current["start"]
        assert visit.page.get_by_test_id("current-start").get_attribute("datetime") == current["start"]
        assert visit.value("status") == current["status"]
        assert "at risk" in visit.text("status").lower()
        assert visit.value("longest-days") == str(longest["days"])
        assert visit.text("longest-days") == f"{longest['days']:,}"  # "1,100": thousands separator
        assert visit.value("longest-years-days") == longest["years_days"]
        assert float(visit.value("needed-km")) == today["needed_km"]
        assert visit.text("needed-km") == _needed_text(today["needed_km"])
        assert visit.text("needed-miles") == _needed_text(today["needed_km"] / KM_PER_MILE)
        assert visit.value("current-years-days") == "0 years 299 days"  # shown only from 1 year on
        assert visit.page.get_by_role("heading", level=1).count() == 1

        calendar = visit.page.locator("#calendar")
        assert calendar.get_attribute("role") == "img" and "Calendar heatmap" in calendar.get_attribute("aria-label")
        assert calendar.locator("svg").bounding_box()["width"] > 0.8 * min(width, 1100) - 100

        bars = visit.page.get_by_test_id("month-bar")
        monthly = requests.get(f"{server}/v1/summaries/monthly", params={"from": f"{TODAY.year - 2}-01-01"}, timeout=10)
        months = {item["period"][:7]: item["km"] for item in monthly.json()["items"]}
        shown = {bar.get_attribute("data-period"): float(bar.get_attribute("data-km")) for bar in bars.all()}
        assert len(shown) == (TODAY.year - (TODAY.year - 2)) * 12 + TODAY.month
        assert {period: km for period, km in shown.items() if km} == months
        chart = visit.page.locator("#monthly svg")
        assert chart.get_attribute("role") == "img" and chart.get_attribute("aria-labelledby")

        eddington = requests.get(f"{server}/v1/eddington", timeout=10).json()
        assert visit.value("eddington-km") == str(eddington["km"]["number"])
        assert visit.value("eddington-miles") == str(eddington["miles"]["number"])
        records = requests.get(f"{server}/v1/records", timeout=10).json()["items"]
        longest_run = next(r for r in records if r["record"] == "longest_run")
        assert float(visit.value("record-longest_run")) == longest_run["value"]

        scroll_width = visit.page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"horizontal overflow: {scroll_width} px at {width} px"
        ARTIFACTS.mkdir(exist_ok=True)
        visit.page.screenshot(path=str(ARTIFACTS / f"streak-page-{width}.png"), full_page=True)

        assert visit.errors == []
        outside = [
            url for url in visit.requests if not url.startswith("data:") and urlparse(url).hostname != "127.0.0.1"
        ]
        assert outside == []
        paths = {urlparse(url).path for url in visit.requests}
        assert {"/", "/v1/streak", "/v1/calendar.svg", "/v1/summaries/monthly", "/v1/records", "/v1/eddington"} <= paths
    finally:
        visit.close()


@needs_chromium
@pytest.mark.browser
def test_dark_mode_keeps_the_page_readable(server, browser):
    visit = Visit(browser, server, 375, color_scheme="dark")
    try:
        visit.open()
        visit.page.wait_for_function(LOADED, timeout=UI_TIMEOUT_MS)
        colours = visit.page.evaluate(
            "() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
        )
        background, text = (_luminance(colour) for colour in colours)
        assert background < 0.1 and (text + 0.05) / (background + 0.05) >= 7  # dark, and WCAG AAA contrast
        assert visit.errors == []
    finally:
        visit.close()


def _luminance(css: str) -> float:
    """WCAG relative luminance of an ``rgb(r, g, b)`` colour."""
    channels = [int(part) / 255 for part in re.findall(r"\d+", css)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


PROBLEM = {
    "type": "about:blank",
    "title": "Service Unavailable",
    "status": 503,
    "detail": "the database cannot be read: runs.duckdb is locked",
}


@needs_chromium
@pytest.mark.browser
def test_api_errors_are_shown_as_readable_messages(server, browser):
    """problem+json from the API (simulated per route) becomes a message; the other panels still load."""
    visit = Visit(browser, server, 375)
    body = json.dumps(PROBLEM)
    try:
        for route in ("**/v1/streak", "**/v1/calendar.svg*"):
            visit.page.route(route, lambda r: r.fulfill(status=503, content_type="application/problem+json", body=body))
        visit.open()
        alert = visit.page.locator("#error")
        alert.wait_for(state="visible", timeout=UI_TIMEOUT_MS)
        assert alert.get_attribute("role") == "alert"
        assert (
            "Service Unavailable: the database cannot be read: runs.duckdb is locked (HTTP 503)" in alert.inner_text()
        )
        calendar_error = visit.page.locator("#calendar .error")
        calendar_error.wait_for(timeout=UI_TIMEOUT_MS)
        assert "Could not load the calendar" in calendar_error.inner_text()
        assert visit.page.locator("#streak-body").is_hidden()  # no placeholder numbers under the message
        visit.page.locator("#records table").wait_for(timeout=UI_TIMEOUT_MS)  # unaffected panels still render
        visit.page.get_by_test_id("month-bar").first.wait_for(timeout=UI_TIMEOUT_MS)
        visit.page.get_by_test_id("eddington-km").wait_for(timeout=UI_TIMEOUT_MS)
        assert visit.page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        visit.close()


def test_page_is_self_contained_and_uses_relative_api_paths():
    """Works offline and under any base path: no external or root-absolute URLs, inline CSS and JS only."""
    html = PAGE.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:)?//""", html)
    assert not re.search(r"<script[^>]*\bsrc=|<link[^>]*stylesheet|@import", html)
    assert not re.search(r"""["']/v1/""", html), "API paths must be relative to the page (v1/..., not /v1/...)"
    for endpoint in ("v1/streak", "v1/calendar.svg?years=", "v1/summaries/monthly?from=", "v1/records", "v1/eddington"):
        assert f'"{endpoint}' in html
    for testid in ("current-days", "current-start", "status", "longest-days", "needed-km"):
        assert f'data-testid="{testid}"' in html
