SELECT
    min_km,
    mode
FROM streak_rule
WHERE id = 1;
