-- Check: each month's total distance and run count equal the sum of its days (to the micrometre).
-- Returns one row (failures, sample of mismatching months).
WITH daily AS (
    SELECT
        CAST(date_trunc('month', day) AS DATE) AS month_start,
        sum(total_km)                          AS total_km,
        sum(run_count)                         AS run_count
    FROM daily_summary
    GROUP BY 1
),

compared AS (
    SELECT coalesce(d.month_start, m.month_start) AS month_start
    FROM daily AS d
    FULL OUTER JOIN monthly_summary AS m ON d.month_start = m.month_start
    WHERE
        d.month_start IS NULL OR m.month_start IS NULL
        OR abs(d.total_km - m.total_km) > 1e-6 OR d.run_count <> m.run_count
)

SELECT
    count(*)                                                     AS failures,
    list(CAST(month_start AS VARCHAR) ORDER BY month_start)[1:5] AS sample
FROM compared;
