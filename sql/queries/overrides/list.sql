-- The current overrides, oldest day first.
SELECT
    day,
    km,
    reason,
    added_by,
    added_at
FROM day_overrides
ORDER BY day;
