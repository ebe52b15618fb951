-- One run (deleted ones included: the API shows them as not found; a record merged away as a duplicate is
-- shown, with duplicate_of = the record kept) with whether its details were fetched, a summary of its
-- recording, and for a run imported from a file, the file (NULL for a SmashRun run).
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
    r.data_source                                                   AS source,
    r.source                                                        AS app_source,
    dup.kept_activity_id                                            AS duplicate_of,
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
    rec.activity_id IS NOT NULL                                     AS has_recording,
    CASE
        WHEN f.activity_id IS NOT NULL
            THEN {
                'format': f.file_format,
                'file_name': f.file_name,
                'title': f.title,
                'sport': f.sport,
                'sport_raw': f.sport_raw,
                'zone_source': f.zone_source,
                'time_zone': f.time_zone,
                'elapsed_seconds': f.elapsed_seconds,
                'device': f.device,
                'imported_at': f.imported_at
            }
    END                                                             AS file  -- noqa: RF04
FROM runs AS r
LEFT JOIN recording_data AS rec ON r.activity_id = rec.activity_id
LEFT JOIN run_duplicates AS dup ON r.activity_id = dup.activity_id
LEFT JOIN activity_files AS f ON r.activity_id = f.activity_id
WHERE r.activity_id = $run_id;  -- noqa: RF02
