"""Trust at the edges: per-payload isolation of the write path, and a seeded fuzz suite over it.

The fuzzer starts from real-shaped payloads (the fixture builders and the sandbox's synthetic athlete: summaries,
extended, details with laps and recordings), mutates them (dropped keys, swapped types, extreme numbers, NaN/inf,
huge strings, unicode and NUL, nested junk, wrong list lengths, bools and numeric strings for numbers, epoch
numbers for dates, duplicates with odd dateUpdatedUTC) and writes batches of them through
``RunRepository.upsert_activities`` / ``replace_window`` into a real DuckDB file. Properties: no exception escapes;
every payload is stored with values equal to the input, or quarantined with a reason that does not echo it, or
superseded by a newer version of the same id in its batch; afterwards every published view and
``myrunstreak streak`` still answer. Derandomized: the same payloads on every run.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from functools import cache
from itertools import count
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import to_json

from myrunstreak_pipeline.analytics.views import published_views
from myrunstreak_pipeline.duckdb_ops import DuckDBManager, RunRepository, stage_activities, staging, validation
from myrunstreak_pipeline.duckdb_ops.validation import payload_text, readable_id, validate_payloads
from myrunstreak_pipeline.models import (
    Activity,
    ActivityType,
    DeviceType,
    HeartRateRecovery,
    HowFelt,
    Lap,
    LapType,
    Song,
    Terrain,
    WeatherType,
)
from myrunstreak_pipeline.models import bounds as b
from myrunstreak_pipeline.models.fields import format_utc
from myrunstreak_pipeline.sandbox import Athlete, SandboxClock
from myrunstreak_pipeline_tests.fixtures import payloads


# --- per-payload isolation (regressions) ----------------------------------------------------------------------
def test_numeric_string_update_stamp_in_a_duplicate_pair_does_not_fail_the_batch(run_repository: RunRepository):
    # was: TypeError (offset-naive vs offset-aware) out of upsert_activities, and the batch's valid rows lost
    batch = [payloads.gps_run(2), payloads.gps_run(2, dateUpdatedUTC="1700000000"), payloads.gps_run(3)]
    result = run_repository.upsert_activities(batch)
    assert result.loaded == 2 and result.quarantined == 1 and result.duplicates == 0
    assert result.quarantine_reasons[0][0] == "2" and result.quarantine_reasons[0][1].startswith("dateUpdatedUTC")
    assert run_repository.stored_activity_ids() == {"2", "3"}


def test_newest_update_wins_comparing_utc_stamps_only(run_repository: RunRepository):
    old = payloads.gps_run(5, notes="old", updated="2022-11-09T15:00:00")
    new = payloads.gps_run(5, notes="new", updated="2022-11-09T15:00:00.001")
    missing = payloads.gps_run(5, notes="no stamp", dateUpdatedUTC=None)
    for batch in ([old, new, missing], [missing, new, old], [new, missing]):
        assert run_repository.upsert_activities(batch).duplicates == len(batch) - 1
        assert run_repository.get_run_by_id(5)["notes"] == "new"


def test_an_unexpected_exception_reading_one_payload_quarantines_only_it(run_repository: RunRepository, monkeypatch):
    run_repository.upsert_activities([payloads.gps_run(66)])
    real = Activity.model_validate.__func__

    def flaky(cls, obj, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("activityId") == 66:
            raise TypeError("boom with the private note")
        return real(cls, obj, *args, **kwargs)

    monkeypatch.setattr(validation.Activity, "model_validate", classmethod(flaky))
    batch = [payloads.gps_run(65), payloads.gps_run(66, notes="edited"), payloads.gps_run(67)]
    result = run_repository.upsert_activities(batch)
    assert result.loaded == 2 and result.quarantine_reasons == [("66", "payload: could not be read (TypeError)")]
    window = run_repository.replace_window(date(2022, 1, 1), date(2023, 1, 1), batch)
    assert window.loaded == 2 and window.quarantined == 1
    assert window.marked_deleted == 0  # the quarantined payload still protects its stored run
    assert run_repository.stored_activity_ids() == {"65", "66", "67"}
    assert run_repository.get_run_by_id(66)["notes"] == ""


def test_an_unexpected_exception_staging_one_payload_quarantines_only_it(run_repository: RunRepository, monkeypatch):
    real = staging.recordings_table

    def fragile(activities):
        if any(a.activity_id == "8" for a in activities):
            raise OverflowError("cannot convert")
        return real(activities)

    monkeypatch.setattr(staging, "recordings_table", fragile)
    batch = [payloads.detail_run(7), payloads.detail_run(8), payloads.laps_and_pauses_run(9)]
    result = run_repository.upsert_activities(batch, payload_kind="detail")
    assert result.loaded == 2 and result.quarantine_reasons == [("8", "payload: could not be staged (OverflowError)")]
    assert run_repository.table_counts()["recording_data"] == 2
    staged = stage_activities(batch, payload_kind="detail")
    assert sorted(staged.present_ids.column("activity_id").to_pylist()) == ["7", "8", "9"]


def test_hostile_objects_are_quarantined_not_raised(run_repository: RunRepository):
    class Hostile(dict):
        def get(self, *args):
            raise RuntimeError("no")

        def __repr__(self):
            raise RuntimeError("no repr either")

    cyclic: dict[str, Any] = payloads.gps_run(12)
    cyclic["self"] = cyclic
    deep: Any = payloads.gps_run(13)
    for _ in range(5000):
        deep = {"x": deep}
    batch = [Hostile(payloads.gps_run(11)), cyclic, deep, payloads.gps_run(14), object(), 3.5, None]
    result = run_repository.upsert_activities(batch)
    assert result.loaded == 1 and result.quarantined == 6
    assert run_repository.stored_activity_ids() == {"14"}


def test_a_mutated_model_is_revalidated(run_repository: RunRepository):
    activity = Activity.model_validate(payloads.gps_run(21))
    activity.distance_km = 1e9  # no validate_assignment: a model can be changed after validation
    result = run_repository.upsert_activities([activity, payloads.gps_run(22)])
    assert result.quarantine_reasons == [("21", "distance: Input should be less than or equal to 2000")]


# --- the corpus: real shapes ----------------------------------------------------------------------------------
SAMPLES_KEPT = 40  # sandbox recordings are cut to this many samples: cheap to copy, same shape


@cache
def sandbox_payloads() -> tuple[dict[str, Any], ...]:
    athlete = Athlete.synthetic(2, seed=23, clock=SandboxClock(datetime(2026, 6, 1, tzinfo=UTC)))
    summaries = athlete.visible_activities
    details = []
    for summary in summaries[::40]:
        full = athlete.get(summary["activityId"])
        full["recordingValues"] = [series[:SAMPLES_KEPT] for series in full.get("recordingValues") or []]
        full["pauseIndexes"] = [i for i in full.get("pauseIndexes") or [] if i < SAMPLES_KEPT]
        details.append(full)
    return tuple(summaries[::60]) + tuple(details)


def corpus() -> list[dict[str, Any]]:
    builders = [
        payloads.gps_run,
        payloads.treadmill_run,
        payloads.manual_run,
        payloads.zero_duration_run,
        payloads.extended_run,
        payloads.detail_run,
        payloads.laps_and_pauses_run,
    ]
    return [build(1) for build in builders] + list(sandbox_payloads())


def _names(model: type) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        names += [name, field.alias or name, field.serialization_alias or name]
        choices = getattr(field.validation_alias, "choices", None) or []
        names += [choice for choice in choices if isinstance(choice, str)]
    return names


CORPUS = corpus()
DATE_KEYS = ("startDateTimeLocal", "dateUpdatedUTC", "dateCreatedUTC", "syncDateTimeUTC", "sunriseLocal")
NUMBER_LIMITS = [value for value in vars(b).values() if isinstance(value, (int, float)) and not isinstance(value, bool)]
# Names the reasons legitimately contain (field paths, known recording keys, the known enum values): a payload
# string that is part of one is not an echo.
VOCABULARY = " ".join(
    [name for model in (Activity, Lap, Song, HeartRateRecovery) for name in _names(model)]
    + list(b.RECORDING_BOUNDS)
    + [member.value for enum in (ActivityType, DeviceType, HowFelt, LapType, Terrain, WeatherType) for member in enum]
)


def echoes(item: Any, reason: str) -> list[str]:
    """The payload's strings (over 6 characters, not field names) that appear in ``reason``."""
    return [s for s in strings_in(item) if len(s) > 6 and s not in VOCABULARY and s in reason]


# --- mutations --------------------------------------------------------------------------------------------------
finite = st.floats(allow_nan=False, allow_infinity=False)
extreme_numbers = st.one_of(
    st.sampled_from([0, -0.0, 5e-324, -1, 1e308, -1e308, 2**63, 2**64, 10**30, -(2**31), 2**31]),
    st.sampled_from(NUMBER_LIMITS).flatmap(lambda v: st.sampled_from([v, -v, v + 1, v - 1, v * 1.0000001])),
    finite,
    st.integers(),
)
not_finite = st.sampled_from([math.nan, math.inf, -math.inf])
numeric_strings = st.one_of(
    st.integers().map(str), finite.map(repr), st.sampled_from(["1_0", " 5", "5 ", "0x10", "1e3", "NaN", "-inf", "١٢"])
)
epoch_like = st.one_of(
    st.integers(-(2**40), 2**40),
    st.integers(0, 2**33).map(str),
    st.floats(0, 5e9, allow_nan=False),
    st.sampled_from(["1700000000", "1700000000.5", "1667999520"]),
)
date_junk = st.one_of(
    epoch_like,
    st.sampled_from(
        [
            "2022-11-09T09:12:00-05:00\x00",
            "2022-11-09T09:12:00-05:00 ",
            "2022-11-09T09:12:00Z",
            "2022-11-09T15:01:39.44+00:00",
            "2022-11-09T15:01:39.44",
            "2022-11-09",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+23:59",
            "2022-13-40T25:61:61-05:00",
            "1900-01-01T00:00:00+14:00",
            "2100-12-31T23:59:59.999999-14:00",
        ]
    ),
    st.tuples(st.sampled_from(DATE_KEYS), st.text(max_size=3)).map(lambda kv: "2022-11-09T09:12:00-05:00" + kv[1]),
)
valid_stamps = st.datetimes(datetime(1900, 1, 1), datetime(2100, 12, 31)).map(format_utc)
huge_strings = st.tuples(st.sampled_from(["x", "\x00", "é", "\U0001f3c3", "\ud800", "9"]), st.integers(7, 40_000)).map(
    lambda ch_n: ch_n[0] * ch_n[1]
)
json_junk = st.recursive(
    st.none() | st.booleans() | finite | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
junk = st.one_of(
    st.booleans(),
    extreme_numbers,
    not_finite,
    numeric_strings,
    epoch_like,
    huge_strings,
    st.text(max_size=12),
    json_junk,
    st.sampled_from([None, [], {}, "", [[]], [None]]),
)
non_objects = st.one_of(json_junk, st.lists(st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)))


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key or index path into ``value`` (long lists: their first three and last items only)."""
    found = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        indexes = sorted({*range(min(3, len(value))), len(value) - 1}) if value else []
        items = [(i, value[i]) for i in indexes]
    else:
        return found
    for key, child in items:
        path = (*prefix, key)
        found.append(path)
        found += _paths(child, path)
    return found


def _parent(payload: Any, path: tuple) -> Any:
    for part in path[:-1]:
        payload = payload[part]
    return payload


@st.composite
def fuzzed_payload(draw, ids=count(10**9)) -> Any:
    if draw(st.integers(0, 39)) == 0:
        return draw(non_objects)
    payload = copy.deepcopy(draw(st.sampled_from(CORPUS)))
    payload["activityId"] = next(ids)  # unique across the whole run
    for _ in range(draw(st.integers(0, 3))):
        paths = _paths(payload)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(payload, path), path[-1]
        action = draw(st.sampled_from(["drop", "junk", "number", "bool", "numeric", "date", "swap", "grow"]))
        if action == "drop":
            del parent[key]
        elif action == "junk":
            parent[key] = draw(junk)
        elif action == "number":
            parent[key] = draw(st.one_of(extreme_numbers, not_finite))
        elif action == "bool":
            parent[key] = draw(st.booleans())
        elif action == "numeric":
            value = parent[key]
            parent[key] = str(value) if isinstance(value, (int, float)) else draw(numeric_strings)
        elif action == "date":
            payload[draw(st.sampled_from(DATE_KEYS))] = draw(date_junk)
        elif action == "swap":
            other = draw(st.sampled_from(paths))
            parent[key] = copy.deepcopy(_parent(payload, other)[other[-1]]) if other[:-1] != path else None
        elif isinstance(parent[key], list):  # grow: wrong list lengths, repeated laps, a longer series
            parent[key] = parent[key] + parent[key][-1:] * draw(st.integers(1, 3))
        else:
            parent[key] = [parent[key]] * draw(st.integers(0, 3))
    return payload


@st.composite
def fuzzed_batch(draw) -> list[Any]:
    batch = draw(st.lists(fuzzed_payload(), min_size=40, max_size=80))
    objects = [item for item in batch if isinstance(item, dict) and "activityId" in item]
    for _ in range(draw(st.integers(0, 3)) if objects else 0):  # duplicates: same id, other dateUpdatedUTC
        twin = copy.deepcopy(draw(st.sampled_from(objects)))
        twin["dateUpdatedUTC"] = draw(st.one_of(valid_stamps, valid_stamps, date_junk))
        twin["notes"] = "the twin"
        batch.insert(draw(st.integers(0, len(batch))), twin)
    return batch


# --- the oracle -------------------------------------------------------------------------------------------------
SCALARS = {  # payload key -> runs column, compared as sent
    "distance": "distance_km",
    "duration": "duration_seconds",
    "calories": "calories",
    "notes": "notes",
    "externalId": "external_id",
    "source": "source",
    "startLatitude": "start_latitude",
    "heartRateAverage": "heart_rate_average",
    "heartRateMax": "heart_rate_max",
    "cadenceAverage": "cadence_average",
    "temperature": "temperature_celsius",
    "humidity": "humidity_percent",
    "windSpeed": "wind_speed_kph",
    "weatherType": "weather_type",
    "howFelt": "how_felt",
    "deviceType": "device_type",
}
FLAGS = {"hasDetails": "has_details", "isRace": "is_race", "isTreadmill": "is_treadmill"}
STAMPS = {
    "dateUpdatedUTC": "updated_at_utc",
    "dateCreatedUTC": "created_at_utc",
    "syncDateTimeUTC": "sync_date_time_utc",
}


def expected_text(item: Any) -> str:
    """The payload text validation stores (raw_activities or quarantine)."""
    if isinstance(item, dict):
        try:
            return to_json(item, inf_nan_mode="null").decode("utf-8")
        except Exception:
            pass
    return payload_text(item)


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings_in(k), *strings_in(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def same(stored: Any, sent: Any) -> bool:
    """Equal, and of the same JSON kind: True is not 1, "10" is not 10."""
    kind = (bool, str, (int, float))
    return stored == sent and all(isinstance(stored, k) == isinstance(sent, k) for k in kind)


def check_stored(item: dict[str, Any], row: dict[str, Any]) -> None:
    assert row["activity_id"] == str(item["activityId"]) and type(item["activityId"]) in (int, str)
    assert row["start_date_time_local_raw"] == item["startDateTimeLocal"]
    assert same(row["distance_km"], item["distance"]) and same(row["duration_seconds"], item["duration"])
    start = datetime.fromisoformat(item["startDateTimeLocal"])
    assert row["start_date_time_local"] == start.replace(tzinfo=None) and row["start_date"] == start.date()
    for key, column in SCALARS.items():
        if key in item and item[key] is not None:
            assert same(row[column], item[key]), key
    for key, column in FLAGS.items():
        if key in item:
            assert row[column] is bool(item[key]), key
    for key, column in STAMPS.items():
        if item.get(key) is not None:
            assert row[column] == datetime.fromisoformat(item[key]), key


def check_detail(item: dict[str, Any], laps: int, recording: tuple | None) -> None:
    assert laps == len(item.get("laps") or [])
    if item.get("recordingKeys") is None:
        assert recording is None
        return
    keys, values = recording
    assert keys == item["recordingKeys"]
    sent = [
        [None if v == -1 and key in ("latitude", "longitude") else v for v in series]
        for key, series in zip(item["recordingKeys"], item["recordingValues"])
    ]
    assert values == sent


class Oracle:
    """Finds each payload of a written batch in the database (a handful of set-based queries per batch)."""

    def __init__(self, connection):
        self.con = connection
        self.payloads = 0
        self.outcomes = {"stored": 0, "quarantined": 0, "superseded": 0}

    def _rows(self, sql: str, *params: Any) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def check(self, batch: list[Any], kind: str, result) -> None:
        self.payloads += len(batch)
        texts = [expected_text(item) for item in batch]
        ids = sorted({str(readable_id(item)) for item in batch if readable_id(item) is not None})
        raw = {
            payload: activity_id
            for activity_id, payload in self._rows(
                "SELECT activity_id, payload FROM raw_activities"
                " WHERE payload_kind = ? AND list_contains(?, activity_id)",
                kind,
                ids,
            )
        }
        # by id where the payload has one (cheap), by the whole text for the rest
        self.con.register("fuzz_texts", pa.table({"payload": pa.array(sorted(set(texts)), pa.string())}))
        try:
            reasons = dict(
                self._rows(
                    "SELECT payload, reason FROM quarantine WHERE payload_kind = ? AND (list_contains(?, activity_id)"
                    " OR (activity_id IS NULL AND payload IN (SELECT payload FROM fuzz_texts)))",
                    kind,
                    ids,
                )
            )
        finally:
            self.con.unregister("fuzz_texts")
        stored = [(item, raw[text]) for item, text in zip(batch, texts) if text in raw]
        self._check_stored(stored, kind)
        stored_ids = {activity_id for _item, activity_id in stored}
        missing = 0
        for item, text in zip(batch, texts):
            if text in raw:
                continue
            if text in reasons:
                self.outcomes["quarantined"] += 1
                assert reasons[text] and not echoes(item, reasons[text]), reasons[text]
            else:  # valid, but superseded by a newer payload of the same id in this batch
                assert str(readable_id(item)) in stored_ids, text[:300]
                missing += 1
        assert missing == result.duplicates + getattr(result, "stale", 0)
        self.outcomes["stored"] += len(stored)
        self.outcomes["superseded"] += missing

    def _check_stored(self, stored: list[tuple[Any, str]], kind: str) -> None:
        ids = [activity_id for _item, activity_id in stored]
        cursor = self.con.execute("SELECT * FROM runs WHERE list_contains(?, activity_id)", [ids])
        names = [column[0] for column in cursor.description]
        rows = {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}
        laps = dict(
            self._rows("SELECT activity_id, count(*) FROM laps WHERE list_contains(?, activity_id) GROUP BY 1", ids)
        )
        recordings = {
            row[0]: row[1:]
            for row in self._rows(
                "SELECT activity_id, recording_keys, recording_values FROM recording_data"
                " WHERE list_contains(?, activity_id)",
                ids,
            )
        }
        for item, activity_id in stored:
            check_stored(item, rows[activity_id])
            if kind == "detail":
                check_detail(item, laps.get(activity_id, 0), recordings.get(activity_id))


# --- the fuzz run -----------------------------------------------------------------------------------------------
EXAMPLES = 45  # x ~50 payloads each: > 2,000 payloads through the write path per run
MIN_PAYLOADS = 2_000


def test_fuzzed_payloads_never_escape_and_never_corrupt(tmp_path: Path):
    path = tmp_path / "fuzz.duckdb"
    started = time.perf_counter()
    with DuckDBManager(path) as manager:
        repo = RunRepository(manager.connection)
        oracle = Oracle(manager.connection)

        @settings(
            derandomize=True,
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
        )
        @given(batch=fuzzed_batch(), kind=st.sampled_from(["summary", "detail", "window"]))
        def write(batch: list[Any], kind: str) -> None:
            if kind == "window":  # a narrow window: the same write path, without deleting the other examples' runs
                result = repo.replace_window(date(1901, 1, 1), date(1901, 1, 2), batch)
                kind = "summary"
            else:
                result = repo.upsert_activities(batch, payload_kind=kind)
            oracle.check(batch, kind, result)

        write()
        assert oracle.payloads >= MIN_PAYLOADS
        assert all(oracle.outcomes.values()), oracle.outcomes  # every outcome happened
        for view in published_views():
            manager.connection.execute(f"SELECT * FROM {view.name}").fetchall()
    script = Path(sys.executable).with_name("myrunstreak")
    result = subprocess.run(
        [str(script), "streak", "--db", str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    elapsed = time.perf_counter() - started
    print(f"fuzz: {oracle.payloads} payloads, {oracle.outcomes}, {elapsed:.1f} s")


@settings(derandomize=True, max_examples=400, deadline=None, database=None)
@given(item=fuzzed_payload())
def test_fuzzed_payloads_validate_or_quarantine_without_echo(item):
    """The pure-Python half, cheaper: validation never raises and a reason never echoes the payload; the model
    itself raises nothing but ValidationError (smashrun/results.py relies on that)."""
    if isinstance(item, dict):
        try:
            Activity.model_validate(item)
        except ValidationError:
            pass
    batch = validate_payloads([item])
    assert len(batch.activities) + len(batch.quarantine) == 1
    for _id, _text, reason in batch.quarantine:
        assert not echoes(item, reason), reason
    for activity in batch.activities:
        assert Activity.model_validate(activity.to_payload()) == activity  # whatever loads, round-trips
        sent = json.loads(activity.model_dump_json(by_alias=True))["activityId"]
        assert str(sent) == str(item["activityId"])  # the same id; an int whenever it is a plain int64


@pytest.mark.parametrize("item", CORPUS[:7] + list(sandbox_payloads()), ids=lambda p: str(p.get("activityId")))
def test_the_unmutated_corpus_is_valid(item):
    batch = validate_payloads([item])
    assert batch.quarantine == [] and len(batch.activities) == 1
