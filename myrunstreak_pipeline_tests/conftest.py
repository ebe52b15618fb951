"""Shared pytest configuration. Reusable fixtures live in ``fixtures/<room>.py`` and are registered here."""

pytest_plugins: list[str] = [
]
