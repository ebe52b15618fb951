SELECT
    min_km,
    mode,
    time_zone,
    sports,
    day_policy,
    midnight_both_days
FROM streak_rule
WHERE id = 1;
