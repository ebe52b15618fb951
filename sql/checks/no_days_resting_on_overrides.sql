-- Check (a warning): no day of the current streak (configured rule, the runner's today) qualifies only thanks to an
-- override (day_overrides). Returns one row (failures, days: the first 100 such days, oldest first).
SELECT
    count(*)                                           AS failures,
    list(CAST(d.day AS VARCHAR) ORDER BY d.day)[1:100] AS days,
    list(d.override_reason ORDER BY d.day)[1:100]      AS reasons
FROM run_days_judged((SELECT min_km FROM streak_rule), (SELECT mode FROM streak_rule)) AS d
INNER JOIN current_streak AS c ON d.day BETWEEN c.start_date AND c.end_date
WHERE d.rests_on_override;
