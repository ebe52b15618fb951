-- The seed's "current streak" query, reproduced faithfully for benchmarks/analytics.py ONLY (never used by the
-- pipeline; sql/views/analytics_20_streaks.sql replaces it). It walks back one day per recursion step from
-- the latest run date, and is wrong three ways:
--   * any activity counts (no 1-mile minimum, deleted runs included),
--   * it stops at 365 days (the recursion cap),
--   * it returns 0 until today's run is in (no "at risk" grace for a streak that ended yesterday).
WITH RECURSIVE
run_dates AS (
    SELECT DISTINCT start_date AS run_date FROM runs
),

streak (streak_day, streak_length) AS (
    SELECT
        max(run_date),
        1
    FROM run_dates
    UNION ALL
    SELECT
        s.streak_day - 1,
        s.streak_length + 1
    FROM streak AS s
    WHERE
        s.streak_length < 365
        AND EXISTS (
            SELECT 1 FROM run_dates AS r
            WHERE r.run_date = s.streak_day - 1
        )
)

SELECT CASE WHEN max(streak_day) = current_date THEN max(streak_length) ELSE 0 END AS current_streak
FROM streak;
