"""How many SmashRun requests (and how long) the client's sync patterns cost on a long history.

    .venv/bin/python benchmarks/sync_requests.py [--years 55] [--seed 7]

Starts a synthetic sandbox athlete on 127.0.0.1 (real HTTP, rate limit off) and measures, with the real
client: a full summary sync (one unpaged listing), an incremental sync with nothing new (fromDateUTC
listing + id reconciliation; target <= 2 requests), the same after 3 new runs (+ their details), and
re-syncing the current year's window (what a daily partition run does).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from myrunstreak_pipeline.sandbox import SandboxServer
from myrunstreak_pipeline.smashrun.client import SmashRunClient
from myrunstreak_pipeline.smashrun.oauth import UserToken
from myrunstreak_pipeline.smashrun.results import deleted_ids


def measure(client: SmashRunClient, action: Callable[[], Any]) -> tuple[Any, int, float]:
    before, started = client.request_count, time.perf_counter()
    result = action()
    return result, client.request_count - before, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=55)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    with SandboxServer(years=args.years, seed=args.seed, token="bench-token", rate_limit=None) as sb:
        print(
            f"sandbox: {args.years} years, {len(sb.athlete)} activities, "
            f"started in {time.perf_counter() - started:.2f} s"
        )
        with SmashRunClient(sb.api_base, UserToken("bench-token")) as client:
            rows: list[tuple[str, int, float, str]] = []

            full, n, secs = measure(client, lambda: client.list_activities(style="extended"))
            rows.append(
                (
                    "full summary sync (extended, unpaged)",
                    n,
                    secs,
                    f"{len(full.activities)} activities, {len(full.rejects)} rejects",
                )
            )
            stored = {str(p["activityId"]) for p in full.activities}
            cursor = sb.clock.timestamp()
            sb.clock.advance(6 * 3600)  # the next scheduled tick

            def incremental() -> tuple[Any, set[str], list[str]]:
                changed = client.list_updated_since(cursor)
                upstream = client.list_ids()
                return changed, deleted_ids(stored, upstream), upstream

            (changed, gone, _), n, secs = measure(client, incremental)
            rows.append(
                (
                    "incremental, nothing new (fromDateUTC + ids)",
                    n,
                    secs,
                    f"{len(changed.activities)} changed, {len(gone)} deleted",
                )
            )

            template = dict(sb.athlete.summary(sb.athlete.sorted_ids()[0]))
            template.pop("activityId")
            for hour in (5, 6, 7):
                run = dict(template, startDateTimeLocal=sb.clock.now().strftime(f"%Y-%m-%dT{hour:02d}:00:00+00:00"))
                sb.athlete.add_activity(run)
            sb.clock.advance(60)

            (changed, gone, _), n, secs = measure(client, incremental)
            rows.append(
                (
                    "incremental, 3 new runs (fromDateUTC + ids)",
                    n,
                    secs,
                    f"{len(changed.activities)} changed, {len(gone)} deleted",
                )
            )
            new_ids = [str(p["activityId"]) for p in changed.activities if str(p["activityId"]) not in stored]
            details, n, secs = measure(client, lambda: client.fetch_details(new_ids, budget=10))
            rows.append(("  + details of the new runs", n, secs, f"{len(details.fetched)} fetched"))

            def pattern(n: int) -> str:  # how the window was fetched, from the sandbox's request log
                return " + ".join(
                    f"page {r.query['page']}" if "page" in r.query else "unpaged" for r in sb.requests[-n:]
                )

            today = sb.clock.now().date()
            for label, start, end in (
                (
                    "last 30 days window",
                    date.fromordinal(today.toordinal() - 30),
                    date.fromordinal(today.toordinal() + 1),
                ),
                (f"current-year window {today.year}", date(today.year, 1, 1), date(today.year + 1, 1, 1)),
                (f"old window {today.year - 30}", date(today.year - 30, 1, 1), date(today.year - 29, 1, 1)),
            ):
                window, n, secs = measure(client, lambda s=start, e=end: client.list_activities_in_window(s, e))
                rows.append((label, n, secs, f"{len(window.activities)} activities ({pattern(n)})"))

    width = max(len(r[0]) for r in rows)
    print(f"{'scenario':<{width}}  requests  wall time  result")
    for name, n, secs, note in rows:
        print(f"{name:<{width}}  {n:>8}  {secs:>8.3f}s  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
