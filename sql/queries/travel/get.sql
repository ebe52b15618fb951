-- The travel day set for one date, if any.
SELECT
    day,
    zone,
    side,
    reason,
    set_by,
    set_at
FROM travel_days
WHERE day = $day;
