-- One run (deleted ones included: the API shows them as not found) with whether its details were fetched
-- and a summary of its recording.
SELECT
    r.activity_id,
    r.start_date_time_local                                         AS start_local,
    r.start_date                                                    AS date,  -- noqa: RF04
    r.utc_offset_minutes,
    r.distance_km                                                   AS km,
    r.distance_km / 1.609344                                        AS miles,
    r.duration_seconds                                              AS seconds,
    r.pace_min_per_km,
    r.activity_type,
    r.is_treadmill,
    r.source,
    r.notes,
    r.weather_type                                                  AS weather,
    r.terrain,
    r.how_felt,
    r.heart_rate_average,
    r.calories,
    r.updated_at_utc                                                AS updated_utc,
    r.deleted,
    exists(
        SELECT 1 FROM raw_activities AS a
        WHERE a.activity_id = r.activity_id AND a.payload_kind = 'detail'
    )                                                               AS details_fetched,
    rec.sample_count                                                AS points,
    coalesce(list_contains(rec.recording_keys, 'latitude'), FALSE)  AS has_gps,
    coalesce(list_contains(rec.recording_keys, 'heartRate'), FALSE) AS has_heart_rate,
    rec.activity_id IS NOT NULL                                     AS has_recording
FROM runs AS r
LEFT JOIN recording_data AS rec ON r.activity_id = rec.activity_id
WHERE r.activity_id = $run_id;  -- noqa: RF02
