-- /v1/summaries/yearly: the yearly_summary view, `period` = January 1st of the year.
SELECT
    make_date(year, 1, 1) AS period,
    run_count             AS runs,
    total_km              AS km,
    total_km / 1.609344   AS miles,
    total_seconds         AS seconds,
    * EXCLUDE (run_count, total_km, total_seconds)
FROM yearly_summary
WHERE
    ($from_date IS NULL OR make_date(year, 1, 1) >= $from_date)
    AND ($to_date IS NULL OR make_date(year, 1, 1) <= $to_date)
ORDER BY period;
