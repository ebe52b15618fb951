-- /v1/summaries/monthly: the monthly_summary view, `period` = the month's first day.
SELECT
    month_start         AS period,
    run_count           AS runs,
    total_km            AS km,
    total_km / 1.609344 AS miles,
    total_seconds       AS seconds,
    * EXCLUDE (month_start, run_count, total_km, total_seconds)
FROM monthly_summary
WHERE
    ($from_date IS NULL OR month_start >= $from_date)
    AND ($to_date IS NULL OR month_start <= $to_date)
ORDER BY period;
