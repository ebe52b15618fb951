-- /v1/summaries/weekly: the weekly_summary view (ISO weeks), `period` = the week's Monday.
SELECT
    week_start          AS period,
    run_count           AS runs,
    total_km            AS km,
    total_km / 1.609344 AS miles,
    total_seconds       AS seconds,
    * EXCLUDE (week_start, run_count, total_km, total_seconds)
FROM weekly_summary
WHERE
    ($from_date IS NULL OR week_start >= $from_date)
    AND ($to_date IS NULL OR week_start <= $to_date)
ORDER BY period;
