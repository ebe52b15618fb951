"""Shared pytest configuration. Reusable fixtures live in ``fixtures/<room>.py`` and are registered here."""

from __future__ import annotations

pytest_plugins: list[str] = [
    "myrunstreak_pipeline_tests.fixtures.s3",
    "myrunstreak_pipeline_tests.fixtures.analytics",
    "myrunstreak_pipeline_tests.fixtures.data_layer",
    "myrunstreak_pipeline_tests.fixtures.sandbox",
    "myrunstreak_pipeline_tests.fixtures.dagster",
]
