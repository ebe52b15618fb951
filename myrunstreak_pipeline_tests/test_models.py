"""The Pydantic models against real-shaped SmashRun payloads ."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from myrunstreak_pipeline.models import (
    Activity,
    ActivityBrief,
    ActivityType,
    HowFelt,
    Lap,
    LapType,
    Terrain,
    WeatherType,
    format_validation_error,
)
from myrunstreak_pipeline_tests.fixtures import payloads


def as_sent(payload: dict[str, Any]) -> dict[str, Any]:
    """What a round trip must give back: the same keys and values (the id an int, as sent), minus nulls."""
    return {key: value for key, value in payload.items() if value is not None}


@pytest.mark.parametrize(
    "builder",
    [
        payloads.gps_run,
        payloads.treadmill_run,
        payloads.manual_run,
        payloads.zero_duration_run,
        payloads.extended_run,
        payloads.detail_run,
        payloads.laps_and_pauses_run,
    ],
)
def test_round_trip_gives_back_the_payload(builder):
    payload = builder()
    activity = Activity.model_validate(payload)
    dumped = activity.model_dump(by_alias=True, exclude_none=True)
    assert dumped == as_sent(payload)
    assert set(dumped) == set(as_sent(payload))  # the keys SmashRun sent, nothing invented
    # flags come back as 0/1 ints, not booleans
    assert type(dumped["hasDetails"]) is int and type(dumped["isRace"]) is int
    # JSON round trip is lossless too
    assert Activity.model_validate_json(activity.model_dump_json(by_alias=True, exclude_none=True)) == activity


def test_gps_run_fields():
    activity = Activity.model_validate(payloads.gps_run(31000001))
    assert activity.activity_id == "31000001"
    assert activity.distance_km == pytest.approx(9.74928)
    assert activity.duration_seconds == pytest.approx(2836.895)
    assert activity.pace_min_per_km == pytest.approx(2836.895 / 60 / 9.74928)
    assert activity.speed_kph == pytest.approx(9.74928 / 2836.895 * 3600)
    assert activity.has_details is True and activity.is_race is False and activity.is_bad_hr is False
    assert activity.activity_type is ActivityType.RUNNING
    assert activity.weather_type is WeatherType.PARTLY_CLOUDY
    assert activity.how_felt is HowFelt.NONE
    assert activity.created_at_utc == datetime(2022, 11, 9, 15, 1, 39, 440000)
    assert activity.updated_at_utc == datetime(2022, 11, 9, 15, 1, 40, 307000)
    assert activity.sync_date_time_utc == datetime(2022, 11, 9, 15, 2)


def test_treadmill_run_has_no_gps_fields():
    activity = Activity.model_validate(payloads.treadmill_run())
    assert activity.is_treadmill is True and activity.has_details_gps is False
    assert activity.terrain is Terrain.TREADMILL
    assert activity.start_latitude is None and activity.weather_type is None and activity.humidity_percent is None


def test_manual_run_nulls_and_integral_numbers():
    activity = Activity.model_validate(payloads.manual_run())
    assert activity.calories is None and activity.sync_date_time_utc is None  # sent as null
    assert activity.heart_rate_average is None and activity.cadence_average is None  # omitted
    assert activity.distance_km == 13.0 and activity.duration_seconds == 3086.0  # integral JSON numbers
    assert activity.external_id == "" and activity.device_type == ""


def test_zero_duration_is_valid_with_unknown_pace():
    activity = Activity.model_validate(payloads.zero_duration_run())
    assert activity.duration_seconds == 0
    assert activity.pace_min_per_km is None and activity.speed_kph is None


def test_laps_pauses_recordings_songs_recovery():
    activity = Activity.model_validate(payloads.laps_and_pauses_run())
    assert [lap.lap_type for lap in activity.laps] == [
        LapType.GENERAL,
        LapType.WORK,
        LapType.RECOVERY,
        LapType.WORK,
        LapType.GENERAL,
    ]
    assert activity.laps[1].end_duration_seconds == 1140 and activity.laps[1].end_distance_km == 3.5
    assert activity.pause_indexes == [4, 9]
    assert activity.sample_count == 12
    latitude = activity.recording_values[activity.recording_keys.index("latitude")]
    assert latitude[0] is None and latitude[1] == pytest.approx(42.1001)  # -1 = no fix -> null
    longitude = activity.recording_values[activity.recording_keys.index("longitude")]
    assert longitude[0] is None
    elevation = activity.recording_values[activity.recording_keys.index("elevation")]
    assert None not in elevation  # only latitude/longitude use the -1 sentinel
    assert activity.songs[0].bpm == 172 and activity.songs[0].artist == "Artist"
    assert activity.heart_rate_recovery[1].heart_rate == 101


def test_lap_accepts_end_time_spelling_and_dumps_end_duration():
    lap = Lap.model_validate({"lapType": "work", "endTime": 300, "endDistance": 1.0})
    assert lap.end_duration_seconds == 300
    assert lap.model_dump(by_alias=True, exclude_none=True) == {
        "lapType": "work",
        "endDuration": 300.0,
        "endDistance": 1.0,
    }


def test_two_runs_on_one_day_share_the_local_date():
    morning = Activity.model_validate(payloads.gps_run(start="2023-05-01T06:00:00-04:00"))
    evening = Activity.model_validate(payloads.treadmill_run(startDateTimeLocal="2023-05-01T21:30:00-04:00"))
    assert morning.local_date == evening.local_date == date(2023, 5, 1)
    assert morning.activity_id != evening.activity_id


@pytest.mark.parametrize(
    ("start", "local_date", "offset_minutes", "utc"),
    [
        ("2022-11-09T23:30:00-04:00", date(2022, 11, 9), -240, datetime(2022, 11, 10, 3, 30)),
        ("2022-11-09T23:59:00-05:00", date(2022, 11, 9), -300, datetime(2022, 11, 10, 4, 59)),
        ("2022-11-09T22:15:00-08:00", date(2022, 11, 9), -480, datetime(2022, 11, 10, 6, 15)),
        ("2022-11-10T00:15:00+13:00", date(2022, 11, 10), 780, datetime(2022, 11, 9, 11, 15)),
        ("2022-11-10T05:45:00+05:45", date(2022, 11, 10), 345, datetime(2022, 11, 10, 0, 0)),
    ],
)
def test_near_midnight_local_date_offset_and_utc(start, local_date, offset_minutes, utc):
    activity = Activity.model_validate(payloads.gps_run(start=start))
    assert activity.local_date == local_date  # from the string, never the machine's zone
    assert activity.utc_offset_minutes == offset_minutes
    assert activity.start_time_utc == utc
    assert activity.start_time_local == datetime.fromisoformat(start).replace(tzinfo=None)
    assert activity.model_dump(by_alias=True)["startDateTimeLocal"] == start


def test_local_date_ignores_the_machine_time_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    try:
        activity = Activity.model_validate(payloads.gps_run(start="2022-11-09T23:30:00-04:00"))
        assert activity.local_date == date(2022, 11, 9)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_open_enums_keep_unknown_values_verbatim():
    payload = payloads.gps_run(
        weatherType="sandstorm", howFelt="Unstoppable", terrain="moon", activityType="skiing", deviceType="Polar"
    )
    payload["laps"] = [{"lapType": "tempo", "endDuration": 10, "endDistance": 0.1}]
    activity = Activity.model_validate(payload)
    assert activity.weather_type == "sandstorm" and type(activity.weather_type) is str
    assert activity.how_felt == "Unstoppable"  # case kept: round trip gives back what was sent
    assert activity.unknown_enum_values == {
        "activity_type": "skiing",
        "device_type": "Polar",
        "how_felt": "Unstoppable",
        "terrain": "moon",
        "weather_type": "sandstorm",
        "laps.lap_type": "tempo",
    }
    assert activity.model_dump(by_alias=True, exclude_none=True)["weatherType"] == "sandstorm"


@pytest.mark.parametrize(
    "weather", ["partlycloudy", "extremerain", "drizzle", "extremewind", "extremecold", "none", "clear"]
)
def test_real_weather_values_are_known(weather):
    assert isinstance(Activity.model_validate(payloads.gps_run(weatherType=weather)).weather_type, WeatherType)


def test_flags_and_omitted_or_null():
    activity = Activity.model_validate(payloads.gps_run(isRace=1, isBadHR=True, calories=None, notes=None))
    assert activity.is_race is True and activity.is_bad_hr is True
    assert activity.calories is None and activity.notes is None


def test_integral_floats_accepted_for_integer_fields():
    activity = Activity.model_validate(payloads.gps_run(heartRateAverage=134.0, humidity=40.0, activityId="77"))
    assert activity.heart_rate_average == 134 and activity.humidity_percent == 40
    assert activity.activity_id == "77"


def _error_text(payload: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Activity.model_validate(payload)
    return format_validation_error(caught.value)


def _without(key: str) -> dict[str, Any]:
    payload = payloads.gps_run()
    del payload[key]
    return payload


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (payloads.gps_run(distance=0), "distance"),
        (payloads.gps_run(distance=-3.2), "distance"),
        (payloads.gps_run(duration=-1), "duration"),
        (payloads.gps_run(distance=10.0, duration=800.0), "distance/duration"),  # 1:20 min/km over 10 km
        (payloads.gps_run(heartRateAverage=19), "heartRateAverage"),
        (payloads.gps_run(heartRateMax=251), "heartRateMax"),
        (payloads.gps_run(humidity=-1), "humidity"),
        (payloads.gps_run(humidity=101), "humidity"),
        (payloads.gps_run(start="2022-11-09T09:12:00"), "startDateTimeLocal"),  # no offset
        (payloads.gps_run(start="yesterday"), "startDateTimeLocal"),
        (payloads.gps_run(start=1667999520), "startDateTimeLocal"),
        (payloads.gps_run(isRace=2), "isRace"),
        (payloads.gps_run(heartRateAverage=134.5), "heartRateAverage"),
        (payloads.gps_run(activityId=True), "activityId"),
        (payloads.gps_run(activityId="  "), "activityId"),
        (payloads.gps_run(temperature=float("nan")), "temperature"),
        (payloads.gps_run(dateUpdatedUTC="not a date"), "dateUpdatedUTC"),
        (_without("activityId"), "activityId"),
        (_without("startDateTimeLocal"), "startDateTimeLocal"),
        (_without("distance"), "distance"),
        (_without("duration"), "duration"),
        ({**payloads.detail_run(), "recordingValues": [[1.0, 2.0]] * 6 + [[1.0]]}, "recordingValues"),
        ({**payloads.detail_run(), "recordingValues": [[1.0]]}, "recordingValues"),
        ({**payloads.detail_run(), "recordingKeys": None}, "recordingKeys"),
        ({**payloads.detail_run(), "laps": [{"endDuration": -5}]}, "laps.0.endDuration"),
    ],
)
def test_bad_input_rejected_with_the_field_named(payload, field):
    text = _error_text(payload)
    assert text.startswith(field) or f"; {field}" in text, text


def test_short_fast_run_is_fine_but_long_fast_run_is_not():
    Activity.model_validate(payloads.gps_run(distance=1.0, duration=60.0))  # 1 km: the rule needs > 1 km
    Activity.model_validate(payloads.gps_run(distance=10.0, duration=900.0))  # exactly 1:30 min/km
    assert "pace" in _error_text(payloads.gps_run(distance=10.0, duration=899.0))


def test_errors_never_echo_input_values():
    secret = "my-private-note-4711"
    payload = payloads.gps_run(notes=[secret], humidity=secret, externalId={"x": secret}, heartRateMax=secret)
    with pytest.raises(ValidationError) as caught:
        Activity.model_validate(payload)
    assert secret not in format_validation_error(caught.value)
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert "notes" in format_validation_error(caught.value)


def test_format_is_bounded():
    bad = {**payloads.detail_run(samples=200)}
    bad["recordingValues"] = [["x"] * 200 for _ in bad["recordingKeys"]]
    text = _error_text(bad)
    assert text.count(";") <= 10 and "more" in text


@pytest.mark.parametrize("spelling", ["real", "alt"])
def test_brief_accepts_both_spellings(spelling):
    brief = ActivityBrief.model_validate(payloads.brief(123, spelling=spelling))
    assert brief.activity_id == "123"
    assert brief.local_date == date(2022, 11, 9)
    assert brief.model_dump(by_alias=True) == {
        "activityId": 123,
        "startDateTimeLocal": "2022-11-09T09:12:00-05:00",
        "distance": 9.74928,
        "duration": 2836.895,
    }


# --- properties -------------------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
ACTIVITY_KEYS = sorted({*payloads.laps_and_pauses_run(), "bodyWeight", "runId"})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_only_ever_raises_validation_error(value):
    for model in (Activity, ActivityBrief):
        try:
            model.model_validate(value)
        except ValidationError:
            pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(ACTIVITY_KEYS), json_values, max_size=6))
def test_corrupted_real_payloads_only_ever_raise_validation_error(corruption):
    payload = {**payloads.laps_and_pauses_run(1), **corruption}
    try:
        activity = Activity.model_validate(payload)
    except ValidationError as error:
        format_validation_error(error)  # formatting never fails either
        return
    # whatever validates, round-trips
    assert Activity.model_validate(activity.model_dump(by_alias=True, exclude_none=True)) == activity


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)),
    minutes=st.integers(min_value=0, max_value=24 * 60 - 1),
    offset=st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda quarters: quarters * 15),
    distance=st.floats(min_value=0.01, max_value=300, allow_nan=False),
    pace=st.floats(min_value=1.501, max_value=60, allow_nan=False),
)
def test_generated_runs_derive_dates_from_their_own_string(day, minutes, offset, distance, pace):
    sign = "+" if offset >= 0 else "-"
    start = f"{day}T{minutes // 60:02d}:{minutes % 60:02d}:00{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    activity = Activity.model_validate(payloads.gps_run(start=start, distance=distance, duration=distance * pace * 60))
    assert activity.local_date == day
    assert activity.utc_offset_minutes == offset
    assert activity.start_time_utc == datetime.fromisoformat(start).astimezone(
        __import__("datetime").timezone.utc
    ).replace(tzinfo=None)
    assert Activity.model_validate(activity.to_payload()) == activity


# --- strict, bounded values (models/bounds.py, docs/validation-bounds.md) ----------------------------------
def _detail_with(path: str, value: Any) -> dict[str, Any]:
    """A laps_and_pauses_run with the value at ``path`` (``laps.0.endDistance``, ``recordingValues.4.0`` …)."""
    payload = payloads.laps_and_pauses_run(5)
    *parents, last = path.split(".")
    target: Any = payload
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    target[int(last) if isinstance(target, list) else last] = value
    return payload


NOT_NUMBERS = [True, False, "10", "1_0", "9.7", " 5", float("nan"), float("inf"), float("-inf"), 10**400, [], {}]


@pytest.mark.parametrize("value", NOT_NUMBERS, ids=repr)
@pytest.mark.parametrize(
    "path",
    [
        "distance",
        "duration",
        "calories",
        "heartRateAverage",
        "cadenceMax",
        "temperature",
        "humidity",
        "windSpeed",
        "startLatitude",
        "elevationGain",
        "moonPhase",
        "laps.0.endDistance",
        "laps.1.endDuration",
        "recordingValues.4.0",
        "pauseIndexes.0",
        "songs.0.BPM",
        "heartRateRecovery.0.heartRate",
    ],
)
def test_numbers_are_json_numbers(path, value):
    text = _error_text(_detail_with(path, value))
    assert text.startswith(path) or f"; {path}" in text, text


@pytest.mark.parametrize("path", ["calories", "heartRateAverage", "humidity", "pauseIndexes.0", "windSpeed"])
def test_integers_accept_integral_floats_only(path):
    Activity.model_validate(_detail_with(path, 40.0))  # JSON cannot tell 40 from 40.0
    assert _error_text(_detail_with(path, 40.5)).startswith(path)


@pytest.mark.parametrize(
    "start",
    [
        1667999520,  # epoch seconds
        1667999520.0,
        "1667999520",  # an epoch as a numeric string
        "1700000000",
        "2022-11-09T09:12:00-05:00\x00",  # NUL
        "2022-11-09T09:12:00-05:00 ",  # trailing space
        "2022-11-09T09:12:00-05:00\n",
        "2022-11-09T09:12:00-05:00junk",
        "2022-11-09T09:12:00-05:00:30",  # an offset with seconds
        "2022-11-09T09:12:00Z",  # SmashRun sends ±HH:MM
        "2022-11-09T09:12-05:00",  # no seconds
        "2022-11-09 09:12:00-05:00",
        "2022-11-09",
        "2022-11-09T09:12:00.1234567-05:00",  # more digits than a microsecond
        "2022-02-30T09:12:00-05:00",
        "2022-11-09T09:12:00+15:00",  # beyond any real zone
        "1899-12-31T23:59:00+00:00",
        "2101-01-01T00:00:00+00:00",
        "\u0662\u0660\u0662\u0662-11-09T09:12:00-05:00",  # Arabic-Indic digits
        True,
    ],
    ids=repr,
)
def test_start_must_be_smashruns_local_shape(start):
    assert _error_text(payloads.gps_run(start=start)).startswith("startDateTimeLocal")


@pytest.mark.parametrize(
    "stamp",
    [
        1700000000,
        "1700000000",
        "2022-11-09T15:01:39.44Z",  # UTC stamps carry no offset
        "2022-11-09T15:01:39.44+00:00",
        "2022-11-09T15:01:39.44\x00",
        "2022-11-09T15:01:39.4444444",
        "2022-11-09T15:01",
        "2101-01-01T00:00:00",
        False,
    ],
    ids=repr,
)
def test_utc_stamps_must_be_smashruns_utc_shape(stamp):
    for key in ("dateUpdatedUTC", "dateCreatedUTC", "syncDateTimeUTC"):
        assert _error_text(payloads.gps_run(**{key: stamp})).startswith(key)


@pytest.mark.parametrize("text", ["2022-11-09T06:58:00-05:00", "2022-11-09T06:58:00"])
def test_sunrise_kept_verbatim(text):
    activity = Activity.model_validate(payloads.extended_run(sunriseLocal=text))
    assert activity.sunrise_local == text
    assert _error_text(payloads.extended_run(sunriseLocal=1667995080)).startswith("sunriseLocal")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("distance", 2000.001),
        ("distance", 0.000009),
        ("duration", 14 * 24 * 3600 + 1),
        ("calories", 500_001),
        ("calories", -1),
        ("heartRateMin", 19),
        ("cadenceMax", 401),
        ("bodyWeight", 700.1),
        ("bodyWeight", 1.9),
        ("temperature", 70.1),
        ("temperature", -100.1),
        ("temperatureApparent", 100.1),
        ("temperatureWindChill", -130.1),
        ("windSpeed", 451),
        ("startLatitude", 90.01),
        ("startLongitude", -180.01),
        ("elevationGain", 100_000.1),
        ("elevationLoss", -1),
        ("elevationMin", -1000.1),
        ("elevationMin", 9500.1),
        ("elevationNet", 10_500.1),
        ("speedVariability", -0.1),
        ("moonPhase", 1.01),
        ("laps.0.endDistance", 2000.1),
        ("laps.0.endDuration", 14 * 24 * 3600 + 1),
        ("pauseIndexes.0", -1),
        ("songs.0.BPM", 1000.1),
        ("heartRateRecovery.0.duration", 86_401),
        ("heartRateRecovery.0.heartRate", 251),
        ("notes", "n" * 10_001),
        ("city", "c" * 257),
        ("weatherType", "w" * 257),
        ("recordingKeys.0", "k" * 65),
    ],
)
def test_values_beyond_the_bounds_are_rejected_by_name(path, value):
    text = _error_text(_detail_with(path, value))
    assert text.startswith(path) or f"; {path}" in text, text


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("heartRate", 251),
        ("heartRate", -1),
        ("latitude", 90.5),
        ("longitude", 181),
        ("elevation", 9501),
        ("clock", -0.001),
        ("distance", 2000.01),
        ("cadence", 401),
    ],
)
def test_recording_samples_beyond_the_bounds_are_rejected(key, value):
    payload = payloads.laps_and_pauses_run(5)
    payload["recordingValues"][payload["recordingKeys"].index(key)][3] = value
    text = _error_text(payload)
    assert text.startswith("recordingValues.") and key in text, text


def test_unknown_recording_series_need_only_be_finite():
    payload = payloads.detail_run(5)
    payload["recordingKeys"].append("mystery")
    payload["recordingValues"].append([-1e300, 1e300, None, 0, 5, 6])
    assert Activity.model_validate(payload).recording_values[-1][0] == -1e300
    payload["recordingValues"][-1][0] = float("inf")
    assert _error_text(payload).startswith("recordingValues.7.0")


def test_lists_must_be_json_arrays_of_bounded_length():
    assert _error_text({**payloads.detail_run(5), "laps": ({"endDuration": 1},)}).startswith("laps")
    too_many = [{"lapType": "general", "endDuration": 1, "endDistance": 0.1}] * 10_001
    assert _error_text({**payloads.detail_run(5), "laps": too_many}).startswith("laps")


def test_faster_than_60_kph_over_any_distance_is_impossible():
    Activity.model_validate(payloads.gps_run(distance=0.5, duration=30.0))  # 1:00 min/km over 500 m: allowed
    assert "60 km/h" in _error_text(payloads.gps_run(distance=0.5, duration=29.0))


@pytest.mark.parametrize(
    ("sent", "stored", "dumped"),
    [
        (31000001, "31000001", 31000001),
        ("31000001", "31000001", 31000001),
        (0, "0", 0),
        (2**63 - 1, str(2**63 - 1), 2**63 - 1),
        (str(2**63), str(2**63), str(2**63)),  # beyond int64: stays text
        ("007", "007", "007"),  # not a plain integer: dumping it as 7 would change the id
        ("-5", "-5", "-5"),
        ("1e5", "1e5", "1e5"),
        ("run-abc", "run-abc", "run-abc"),
    ],
)
def test_activity_id_is_stored_as_text_and_sent_back_as_smashrun_does(sent, stored, dumped):
    activity = Activity.model_validate(payloads.gps_run(sent))
    assert activity.activity_id == stored
    payload = activity.to_payload()
    assert payload["activityId"] == dumped and type(payload["activityId"]) is type(dumped)
    assert json.loads(activity.model_dump_json(by_alias=True))["activityId"] == dumped
    assert Activity.model_validate(payload) == activity


@pytest.mark.parametrize("sent", [True, -1, 2**63, 1.0, "", " 5", "5 ", "a\x00b", "a\nb", "x" * 65, None, [5]])
def test_bad_activity_ids(sent):
    assert _error_text(payloads.gps_run(sent) if sent is not None else _without("activityId")).startswith("activityId")
