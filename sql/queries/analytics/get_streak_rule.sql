SELECT
    min_km,
    mode,
    time_zone
FROM streak_rule
WHERE id = 1;
