-- One page of live runs, newest first, keyset-paged on (start_date_time_local, activity_id): a page starts
-- strictly after the cursor ($after_start, $after_id), so inserts elsewhere never repeat or skip a run.
SELECT
    activity_id,
    start_date_time_local  AS start_local,
    start_date             AS date,  -- noqa: RF04
    utc_offset_minutes,
    distance_km            AS km,
    distance_km / 1.609344 AS miles,
    duration_seconds       AS seconds,
    pace_min_per_km,
    activity_type,
    is_treadmill,
    source,
    notes,
    weather_type           AS weather,
    terrain,
    how_felt,
    heart_rate_average,
    calories,
    updated_at_utc         AS updated_utc
FROM runs
WHERE
    NOT deleted
    AND ($from_date IS NULL OR start_date >= $from_date)
    AND ($to_date IS NULL OR start_date <= $to_date)
    AND (
        $after_start IS NULL
        OR (start_date_time_local, activity_id) < (CAST($after_start AS TIMESTAMP), CAST($after_id AS VARCHAR))
    )
ORDER BY start_date_time_local DESC, activity_id DESC
LIMIT $limit;
