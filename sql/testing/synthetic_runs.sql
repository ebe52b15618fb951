-- Deterministic synthetic runs for tests and benchmarks (not used by the pipeline itself).
-- Activity ids $first_id .. $first_id + $count - 1, one run per local day from 1970-01-01 onward.
-- Idempotent: re-running it with the same parameters leaves the same rows (audit stamps are fixed).
INSERT OR REPLACE INTO runs BY NAME
WITH generated AS (
    SELECT
        t.i,
        TIMESTAMP '1970-01-01 06:30:00' + to_days(t.i::INTEGER) AS local_ts,
        round(1.7 + (t.i % 130) / 10.0, 3)                      AS km
    FROM range($first_id, $first_id + $count) AS t (i)
)

SELECT
    'run-' || lpad(i::VARCHAR, 8, '0')                  AS activity_id,
    'running'                                           AS activity_type,
    local_ts                                            AS start_date_time_local,
    strftime(local_ts, '%Y-%m-%dT%H:%M:%S') || '-05:00' AS start_date_time_local_raw,
    -300                                                AS utc_offset_minutes,
    local_ts + INTERVAL 5 HOUR                          AS start_time_utc,
    local_ts::DATE                                      AS start_date,
    year(local_ts)                                      AS year,
    month(local_ts)                                     AS month,
    day(local_ts)                                       AS day,
    isodow(local_ts)                                    AS day_of_week,
    isoyear(local_ts)                                   AS iso_year,
    weekofyear(local_ts)                                AS iso_week,
    km                                                  AS distance_km,
    km * 330.0                                          AS duration_seconds,
    330.0 / 60.0                                        AS pace_min_per_km,
    3600.0 / 330.0                                      AS speed_kph,
    (km * 70)::INTEGER                                  AS calories,
    'synthetic run ' || i                               AS notes,
    'synthetic'                                         AS source,
    FALSE                                               AS deleted,
    TIMESTAMP '2026-01-01 00:00:00'                     AS first_loaded_at,
    TIMESTAMP '2026-01-01 00:00:00'                     AS last_loaded_at
FROM generated;
