SELECT
    min_km,
    mode,
    time_zone,
    sports
FROM streak_rule
WHERE id = 1;
