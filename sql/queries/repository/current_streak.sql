-- The current run streak as of $today: consecutive LOCAL dates on which the live runs sum to >= $min_km
-- (no cap on length). Status per streak-rules §1.5: 'active' (today qualifies), 'at_risk' (the streak ends
-- yesterday; today not yet run) or 'broken' (0 days). Runs dated after $today are ignored.
WITH qualifying_days AS (
    SELECT start_date AS day
    FROM runs
    WHERE NOT deleted AND start_date <= $today
    GROUP BY start_date
    HAVING sum(distance_km) >= $min_km
),
islands AS (
    SELECT day, day - CAST(row_number() OVER (ORDER BY day) AS INTEGER) AS island
    FROM qualifying_days
),
latest AS (
    SELECT min(day) AS start_day, max(day) AS end_day, count(*) AS days
    FROM islands
    GROUP BY island
    ORDER BY end_day DESC
    LIMIT 1
)
SELECT
    CASE WHEN end_day >= CAST($today AS DATE) - 1 THEN days ELSE 0 END                      AS days,
    CASE WHEN end_day >= CAST($today AS DATE) - 1 THEN start_day END                        AS start_day,
    CASE WHEN end_day >= CAST($today AS DATE) - 1 THEN end_day END                          AS end_day,
    CASE WHEN end_day = $today THEN 'active'
         WHEN end_day = CAST($today AS DATE) - 1 THEN 'at_risk'
         ELSE 'broken' END                                                                  AS status
FROM (SELECT * FROM latest UNION ALL SELECT NULL, NULL, 0 WHERE NOT EXISTS (SELECT 1 FROM latest));
