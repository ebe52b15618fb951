-- Distance run this ISO week (Monday start), this month and this year, up to and including local $today.
-- The week can start in the previous year (today = Fri Jan 2: the week began Mon Dec 29), so the scan starts
-- at whichever of the week's and the year's first day is earlier.
WITH bounds AS (
    SELECT
        CAST(date_trunc('week', CAST($today AS DATE)) AS DATE)  AS week_start,
        CAST(date_trunc('month', CAST($today AS DATE)) AS DATE) AS month_start,
        CAST(date_trunc('year', CAST($today AS DATE)) AS DATE)  AS year_start,
        CAST($today AS DATE)                                    AS today
)

SELECT
    CAST(coalesce(sum(d.total_km_exact) FILTER (WHERE d.day >= b.week_start), 0) AS DOUBLE)  AS week_km,
    CAST(coalesce(sum(d.total_km_exact) FILTER (WHERE d.day >= b.month_start), 0) AS DOUBLE) AS month_km,
    CAST(coalesce(sum(d.total_km_exact) FILTER (WHERE d.day >= b.year_start), 0) AS DOUBLE)  AS year_km
FROM bounds AS b
LEFT JOIN run_days AS d ON d.day BETWEEN least(b.week_start, b.year_start) AND b.today;
