INSERT INTO laps (activity_id, lap_number, lap_type, end_duration_seconds, end_distance_km)
SELECT
    activity_id,
    lap_number,
    lap_type,
    end_duration_seconds,
    end_distance_km
FROM staged_laps;
