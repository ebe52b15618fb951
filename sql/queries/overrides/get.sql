-- The override of one day, if any.
SELECT
    day,
    km,
    reason,
    added_by,
    added_at
FROM day_overrides
WHERE day = $day;
