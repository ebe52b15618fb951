"""An offline SmashRun for tests, benchmarks, ``myrunstreak demo`` and ``myrunstreak sandbox``.

    with SandboxServer(years=3, seed=7, token="test-token") as sb:
        requests.get(f"{sb.api_base}/my/activities/search", headers={"Authorization": "Bearer test-token"})

It fakes exactly what the production client (smashrun/) calls, faithfully to docs/smashrun-api.md §10, and
imports nothing from it. Modules: server (HTTP, dispatch, faults, request log), oauth and api (the
endpoints), responses, athlete (state and clock), history (the synthetic generator), details (lazy
recordings), formats (SmashRun's time and number formats).
"""

from __future__ import annotations

from myrunstreak_pipeline.sandbox.athlete import Athlete, SandboxClock
from myrunstreak_pipeline.sandbox.history import MILE_KM
from myrunstreak_pipeline.sandbox.oauth import TWELVE_WEEKS
from myrunstreak_pipeline.sandbox.server import RequestRecord, SandboxServer

__all__ = ["MILE_KM", "TWELVE_WEEKS", "Athlete", "RequestRecord", "SandboxClock", "SandboxServer"]
