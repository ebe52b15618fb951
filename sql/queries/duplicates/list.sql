-- Every duplicate decision, newest run first, with both records side by side (`myrunstreak runs --duplicates`).
SELECT
    d.activity_id,
    r.data_source           AS source,
    r.start_date_time_local AS start_local,
    r.distance_km           AS km,
    d.kept_activity_id,
    k.data_source           AS kept_source,
    k.start_date_time_local AS kept_start_local,
    k.distance_km           AS kept_km,
    d.start_gap_seconds,
    d.distance_gap_percent,
    d.rule,
    d.reason,
    d.decided_at
FROM run_duplicates AS d
INNER JOIN runs AS r ON d.activity_id = r.activity_id
INNER JOIN runs AS k ON d.kept_activity_id = k.activity_id
ORDER BY r.start_time_utc DESC, d.activity_id ASC;
