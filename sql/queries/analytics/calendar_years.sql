-- First and last calendar year with runs (NULLs when there are none): the calendar's default span.
SELECT
    year(min(day)) AS first_year,
    year(max(day)) AS last_year
FROM daily_summary;
