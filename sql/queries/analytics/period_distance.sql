-- Distance run this ISO week (Monday start), this month and this year, up to and including local $today.
SELECT
    CAST(coalesce(sum(total_km_exact) FILTER (WHERE day >= date_trunc('week', CAST($today AS DATE))), 0) AS DOUBLE)
        AS week_km,
    CAST(coalesce(sum(total_km_exact) FILTER (WHERE day >= date_trunc('month', CAST($today AS DATE))), 0) AS DOUBLE)
        AS month_km,
    CAST(coalesce(sum(total_km_exact), 0) AS DOUBLE) AS year_km
FROM run_days
WHERE day BETWEEN date_trunc('year', CAST($today AS DATE)) AND CAST($today AS DATE);
