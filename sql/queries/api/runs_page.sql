-- One page of live runs, newest first, keyset-paged on (start_date_time_local, activity_id): a page starts
-- strictly after the cursor ($after_start, $after_id), so inserts elsewhere never repeat or skip a run.
-- A run recorded twice (run_duplicates) is listed once, as the record kept; rides and other sports are listed
-- (activity_type says which), though only counted_runs count. `source` is where the record came from
-- (runs.data_source), `app_source` SmashRun's own "source" field (the app or device that uploaded it).
SELECT
    r.activity_id,
    r.start_date_time_local  AS start_local,
    r.start_date             AS date,  -- noqa: RF04
    r.utc_offset_minutes,
    r.distance_km            AS km,
    r.distance_km / 1.609344 AS miles,
    r.duration_seconds       AS seconds,
    r.pace_min_per_km,
    r.activity_type,
    r.is_treadmill,
    r.data_source            AS source,
    r.source                 AS app_source,
    CAST(NULL AS VARCHAR)    AS duplicate_of,  -- merged-away records are not listed
    r.notes,
    r.weather_type           AS weather,
    r.terrain,
    r.how_felt,
    r.heart_rate_average,
    r.calories,
    r.updated_at_utc         AS updated_utc
FROM runs AS r
WHERE
    NOT r.deleted
    AND NOT EXISTS (
        SELECT 1 FROM run_duplicates AS d
        WHERE d.activity_id = r.activity_id
    )
    AND ($from_date IS NULL OR r.start_date >= $from_date)
    AND ($to_date IS NULL OR r.start_date <= $to_date)
    AND (
        $after_start IS NULL
        OR (r.start_date_time_local, r.activity_id) < (CAST($after_start AS TIMESTAMP), CAST($after_id AS VARCHAR))
    )
ORDER BY r.start_date_time_local DESC, r.activity_id DESC
LIMIT $limit;
