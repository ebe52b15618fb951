-- The laps of the winning detail payloads only (staged_winners, see staged_verdicts.sql).
INSERT INTO laps (activity_id, lap_number, lap_type, end_duration_seconds, end_distance_km)
SELECT
    s.activity_id,
    s.lap_number,
    s.lap_type,
    s.end_duration_seconds,
    s.end_distance_km
FROM staged_laps AS s
WHERE s.activity_id IN (SELECT w.activity_id FROM staged_winners AS w);
