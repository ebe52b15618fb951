-- Year to date on this calendar day (month, day of $today; Feb 29 -> Feb 28) of every year with runs.
SELECT
    year(day)                     AS year,
    CAST(sum(total_km) AS DOUBLE) AS year_to_date_km
FROM daily_summary
WHERE
    (month(day), day(day)) <= (month(CAST($today AS DATE)), day(CAST($today AS DATE)))
    AND day <= $today
GROUP BY year(day)
ORDER BY year DESC;
