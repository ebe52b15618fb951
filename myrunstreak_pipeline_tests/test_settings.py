"""Settings: every documented variable read once; a bad value is one line naming the variable, plus a hint."""

from __future__ import annotations

import pytest

from myrunstreak_pipeline.settings import DEFAULT_STREAK_MIN_KM, Settings, SettingsError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in Settings.variables():
        monkeypatch.delenv(name, raising=False)


def test_defaults():
    settings = Settings.from_env()
    assert settings.streak_min_km == DEFAULT_STREAK_MIN_KM and settings.streak_mode == "sum"
    assert settings.detail_budget == 50 and settings.calendar_years == 10 and settings.history_start_year == 1970
    assert settings.schedule_hour_minute == (5, 0) and not settings.is_set("streak_min_km")


def test_values_are_parsed(monkeypatch):
    for name, value in {
        "MYRUNSTREAK_STREAK_MODE": " STRICT ",
        "MYRUNSTREAK_CALENDAR_YEARS": "all",
        "SMASHRUN_API_BASE": "http://127.0.0.1:8765/v1/",
        "MYRUNSTREAK_SCHEDULE_TIME": "19:30",
        "MYRUNSTREAK_HISTORY_START": "1994-06-01",
        "MYRUNSTREAK_STREAK_MIN_KM": "1",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.streak_mode == "strict" and settings.calendar_years is None
    assert settings.api_base == "http://127.0.0.1:8765/v1" and settings.schedule_hour_minute == (19, 30)
    assert settings.history_start_year == 1994 and settings.is_set("streak_min_km") and settings.streak_min_km == 1.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MYRUNSTREAK_TIMEZONE", "Mars/Base"),
        ("MYRUNSTREAK_HISTORY_START", "yesterday"),
        ("MYRUNSTREAK_STREAK_MIN_KM", "-1"),
        ("MYRUNSTREAK_STREAK_MIN_KM", "nan"),
        ("MYRUNSTREAK_STREAK_MIN_KM", "1e309"),
        ("MYRUNSTREAK_STREAK_MODE", "loose"),
        ("MYRUNSTREAK_DETAIL_BUDGET", "fifty"),
        ("MYRUNSTREAK_SCHEDULE_TIME", "25:00"),
        ("MYRUNSTREAK_MAX_QUARANTINE_RATE", "-0.1"),
        ("MYRUNSTREAK_CALENDAR_YEARS", "0"),
        ("MYRUNSTREAK_HISTORY_START", "2099-01-01"),
        ("MYRUNSTREAK_HISTORY_START", "0001-01-01"),
        ("MYRUNSTREAK_S3_ENDPOINT_URL", "notaurl"),
        ("MYRUNSTREAK_S3_ENDPOINT_URL", "http://minio:99999"),
        ("MYRUNSTREAK_POOL_TIMEOUT", "0"),
        ("MYRUNSTREAK_POOL_TIMEOUT", "inf"),
        ("MYRUNSTREAK_DETAIL_MAX_ATTEMPTS", "0"),
        ("SMASHRUN_API_BASE", "ftp://example.com/v1"),
        ("SMASHRUN_AUTH_BASE", "secure.smashrun.com"),
        ("MYRUNSTREAK_DB", "   "),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        Settings.from_env()
    assert name in str(error.value) and "\n" not in str(error.value)
    assert error.value.hint


def test_urls_are_trimmed(monkeypatch):
    monkeypatch.setenv("SMASHRUN_AUTH_BASE", " http://127.0.0.1:8765/ ")
    monkeypatch.setenv("MYRUNSTREAK_S3_ENDPOINT_URL", " http://127.0.0.1:9000 ")
    settings = Settings.from_env()
    assert settings.auth_base == "http://127.0.0.1:8765" and settings.s3_endpoint_url == "http://127.0.0.1:9000"


def test_secrets_never_shown(monkeypatch):
    monkeypatch.setenv("SMASHRUN_ACCESS_TOKEN", "very-secret-token-value")
    monkeypatch.setenv("SMASHRUN_CLIENT_SECRET", "very-secret-client-value")
    settings = Settings.from_env()
    assert settings.access_token == "very-secret-token-value"
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings)


def test_every_field_has_a_documented_variable():
    variables = Settings.variables()
    assert len(variables) == len(Settings.model_fields)
    assert all(description for _field, _default, description in variables.values())
