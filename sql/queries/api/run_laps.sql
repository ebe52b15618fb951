-- The laps of one run, in order.
SELECT
    lap_number,
    lap_type,
    end_duration_seconds AS end_seconds,
    end_distance_km      AS end_km
FROM laps
WHERE activity_id = $activity_id
ORDER BY lap_number;
