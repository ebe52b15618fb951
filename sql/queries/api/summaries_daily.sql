-- /v1/summaries/daily: the daily_summary view, one row per local day with runs.
SELECT
    day                 AS period,
    run_count           AS runs,
    total_km            AS km,
    total_km / 1.609344 AS miles,
    total_seconds       AS seconds,
    * EXCLUDE (day, run_count, total_km, total_seconds)
FROM daily_summary
WHERE
    ($from_date IS NULL OR day >= $from_date)
    AND ($to_date IS NULL OR day <= $to_date)
ORDER BY period;
