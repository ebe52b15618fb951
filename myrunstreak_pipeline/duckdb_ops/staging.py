"""Validated activities -> Arrow tables for set-based loads (one column at a time, no row-by-row SQL).

Derived values (UTC instant, date parts, pace, speed) are computed in SQL (merge_runs.sql); Python only splits
the local timestamp into its wall-clock time and offset, which Arrow/DuckDB cannot do from an aware datetime
without consulting a session time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import pyarrow as pa

from myrunstreak_pipeline.duckdb_ops.validation import unknown_enum_values, validate_payloads
from myrunstreak_pipeline.errors import MyRunStreakError
from myrunstreak_pipeline.models import Activity

PayloadKind = Literal["summary", "detail"]
PAYLOAD_KINDS = ("summary", "detail")

# The `runs` columns copied straight from the model field of the same name, with their Arrow types: the one list
# of them: test_structure.py checks it against the schema the migrations create and merge_runs.sql's SET list.
RUNS_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("activity_id", pa.string()),
    ("activity_type", pa.string()),
    ("distance_km", pa.float64()),
    ("duration_seconds", pa.float64()),
    ("calories", pa.int32()),
    ("notes", pa.string()),
    ("external_id", pa.string()),
    ("source", pa.string()),
    ("app_version", pa.string()),
    ("device_type", pa.string()),
    ("has_details", pa.bool_()),
    ("has_details_gps", pa.bool_()),
    ("start_latitude", pa.float64()),
    ("start_longitude", pa.float64()),
    ("heart_rate_average", pa.int32()),
    ("heart_rate_min", pa.int32()),
    ("heart_rate_max", pa.int32()),
    ("cadence_average", pa.int32()),
    ("cadence_min", pa.int32()),
    ("cadence_max", pa.int32()),
    ("body_weight_kg", pa.float64()),
    ("how_felt", pa.string()),
    ("terrain", pa.string()),
    ("weather_type", pa.string()),
    ("temperature_celsius", pa.float64()),
    ("temperature_apparent_celsius", pa.float64()),
    ("temperature_wind_chill_celsius", pa.float64()),
    ("humidity_percent", pa.int32()),
    ("wind_speed_kph", pa.int32()),
    ("is_race", pa.bool_()),
    ("is_treadmill", pa.bool_()),
    ("is_bad_hr", pa.bool_()),
    ("is_bad_elevation", pa.bool_()),
    ("is_cooper_test", pa.bool_()),
    ("elevation_gain_m", pa.float64()),
    ("elevation_loss_m", pa.float64()),
    ("elevation_ascent_m", pa.float64()),
    ("elevation_descent_m", pa.float64()),
    ("elevation_min_m", pa.float64()),
    ("elevation_net_m", pa.float64()),
    ("speed_variability", pa.float64()),
    ("moon_phase", pa.float64()),
    ("sunrise_local", pa.string()),
    ("sunset_local", pa.string()),
    ("country_code", pa.string()),
    ("country", pa.string()),
    ("state", pa.string()),
    ("city", pa.string()),
    ("sync_date_time_utc", pa.timestamp("us")),
    ("created_at_utc", pa.timestamp("us")),
    ("updated_at_utc", pa.timestamp("us")),
]

_MINUTE = timedelta(minutes=1)


def runs_table(activities: Sequence[Activity], raw_start_strings: Sequence[str | None]) -> pa.Table:
    """The ``staged_runs`` relation consumed by merge_runs.sql."""
    fields = [activity.__dict__ for activity in activities]
    columns = {name: pa.array([f[name] for f in fields], type=arrow_type) for name, arrow_type in RUNS_COLUMNS}
    starts = [f["start_date_time_local"] for f in fields]
    columns["start_date_time_local"] = pa.array([s.replace(tzinfo=None) for s in starts], type=pa.timestamp("us"))
    columns["utc_offset_minutes"] = pa.array([s.utcoffset() // _MINUTE for s in starts], type=pa.int32())
    columns["start_date_time_local_raw"] = pa.array(
        [raw if raw is not None else s.isoformat() for raw, s in zip(raw_start_strings, starts)], type=pa.string()
    )
    return pa.table(columns)


def raw_table(activities: Sequence[Activity], payloads: Sequence[str]) -> pa.Table:
    """The ``staged_raw`` relation: id, payload JSON text, the payload's dateUpdatedUTC."""
    return pa.table(
        {
            "activity_id": pa.array([a.activity_id for a in activities], type=pa.string()),
            "payload": pa.array(payloads, type=pa.string()),
            "updated_at_utc": pa.array([a.updated_at_utc for a in activities], type=pa.timestamp("us")),
        }
    )


def laps_table(activities: Sequence[Activity]) -> pa.Table:
    rows = [(a.activity_id, number, lap) for a in activities for number, lap in enumerate(a.laps or (), start=1)]
    return pa.table(
        {
            "activity_id": pa.array([r[0] for r in rows], type=pa.string()),
            "lap_number": pa.array([r[1] for r in rows], type=pa.int32()),
            "lap_type": pa.array([r[2].lap_type for r in rows], type=pa.string()),
            "end_duration_seconds": pa.array([r[2].end_duration_seconds for r in rows], type=pa.float64()),
            "end_distance_km": pa.array([r[2].end_distance_km for r in rows], type=pa.float64()),
        }
    )


def recordings_table(activities: Sequence[Activity]) -> pa.Table:
    recorded = [a for a in activities if a.recording_keys is not None]
    return pa.table(
        {
            "activity_id": pa.array([a.activity_id for a in recorded], type=pa.string()),
            "recording_keys": pa.array([a.recording_keys for a in recorded], type=pa.list_(pa.string())),
            "recording_values": pa.array([a.recording_values for a in recorded], type=pa.list_(pa.list_(pa.float64()))),
            "pause_indexes": pa.array([a.pause_indexes for a in recorded], type=pa.list_(pa.int32())),
            "sample_count": pa.array([a.sample_count for a in recorded], type=pa.int32()),
        }
    )


def quarantine_table(rows: Sequence[tuple[str | None, str, str]]) -> pa.Table:
    """(activity_id, payload text, reason) rows."""
    return pa.table(
        {
            "activity_id": pa.array([r[0] for r in rows], type=pa.string()),
            "payload": pa.array([r[1] for r in rows], type=pa.string()),
            "reason": pa.array([r[2] for r in rows], type=pa.string()),
        }
    )


def key_value_table(mapping: dict[str, str]) -> pa.Table:
    return pa.table(
        {"key": pa.array(list(mapping), type=pa.string()), "value": pa.array(list(mapping.values()), type=pa.string())}
    )


def ids_table(activity_ids: Sequence[str]) -> pa.Table:
    """A one-column ``activity_id`` relation, for set-based joins against a batch's ids."""
    return pa.table({"activity_id": pa.array(list(activity_ids), type=pa.string())})


@dataclass(frozen=True)
class StagedBatch:
    """A validated, de-duplicated batch already converted to Arrow tables.

    Staging is the Python-heavy half of a write (validation, models); applying it is pure DuckDB. Keeping the
    two apart lets a caller drop the raw dicts and models before the load (peak memory on a 20,000-run
    backfill) and re-apply the same batch cheaply (S3 compare-and-swap retries).
    """

    payload_kind: PayloadKind
    raw: pa.Table  # staged_raw
    runs: pa.Table  # staged_runs
    laps: pa.Table | None  # detail batches only
    recordings: pa.Table | None  # detail batches only
    present_ids: pa.Table  # every readable id of the batch, valid or quarantined
    quarantine: list[tuple[str | None, str, str]]  # (id, payload, reason), one per rejected payload
    duplicates: int
    unknown_enum_values: dict[str, list[str]]

    @property
    def loaded(self) -> int:
        return self.runs.num_rows


def _tables(
    activities: Sequence[Activity], payloads: Sequence[str], raw_starts: Sequence[str | None], detail: bool
) -> tuple[pa.Table, pa.Table, pa.Table | None, pa.Table | None]:
    return (
        raw_table(activities, payloads),
        runs_table(activities, raw_starts),
        laps_table(activities) if detail else None,
        recordings_table(activities) if detail else None,
    )


def stage_activities(
    items: Iterable[Mapping[str, Any] | Activity], *, payload_kind: PayloadKind = "summary"
) -> StagedBatch:
    """Validate, dedupe and convert ``items`` (raw dicts as received, or models) for ``RunRepository``.

    The batch is converted in one go; should that fail, each activity is converted alone and the ones that fail
    are quarantined (reason: the exception's type), so one payload never costs the batch. A failure converting
    the remaining activities is not one payload's doing and propagates."""
    _check_kind(payload_kind)
    batch = validate_payloads(items)
    activities, payloads, raw_starts = batch.activities, batch.payloads, batch.raw_starts
    quarantine = list(batch.quarantine)
    detail = payload_kind == "detail"
    try:
        tables = _tables(activities, payloads, raw_starts, detail)
    except Exception:  # find the payload(s) responsible, below
        kept = []
        for index, activity in enumerate(activities):
            try:
                _tables([activity], [payloads[index]], [raw_starts[index]], detail)
            except Exception as error:  # one payload must never fail the batch
                quarantine.append(
                    (activity.activity_id, payloads[index], f"payload: could not be staged ({type(error).__name__})")
                )
            else:
                kept.append(index)
        activities = [activities[i] for i in kept]
        payloads = [payloads[i] for i in kept]
        raw_starts = [raw_starts[i] for i in kept]
        tables = _tables(activities, payloads, raw_starts, detail)
    raw, runs, laps, recordings = tables
    present = [a.activity_id for a in activities] + [q[0] for q in quarantine if q[0] is not None]
    return StagedBatch(
        payload_kind=payload_kind,
        raw=raw,
        runs=runs,
        laps=laps,
        recordings=recordings,
        present_ids=ids_table(present),
        quarantine=quarantine,
        duplicates=batch.duplicates,
        unknown_enum_values=unknown_enum_values(activities),
    )


def as_staged_batch(items: Any, payload_kind: PayloadKind) -> StagedBatch:
    if isinstance(items, StagedBatch):
        if items.payload_kind != payload_kind:
            raise MyRunStreakError(f"a {items.payload_kind} batch cannot be written as {payload_kind}")
        return items
    return stage_activities(items, payload_kind=payload_kind)


def _check_kind(payload_kind: str) -> None:
    if payload_kind not in PAYLOAD_KINDS:
        raise MyRunStreakError(f"payload_kind must be one of {', '.join(PAYLOAD_KINDS)}")
