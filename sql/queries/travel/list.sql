-- Every travel day, oldest first.
SELECT
    day,
    zone,
    side,
    reason,
    set_by,
    set_at
FROM travel_days
ORDER BY day;
