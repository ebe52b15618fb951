-- The `myrunstreak streak --json` numbers as of a local $today under the rule ($min_km, $mode):
-- the current streak, the longest streak and the number of streaks (days after $today are ignored), and how
-- many days of the current streak come only from activity files (every counted run of the day is a file's, and
-- the day has no override), and how many days of the current and of the longest streak rest on an override.
WITH all_streaks AS (
    SELECT * FROM streaks_through($today, $min_km, $mode)
),

longest AS (
    SELECT
        start_date,
        end_date,
        days,
        years_days
    FROM all_streaks
    ORDER BY streak_rank LIMIT 1
),

override_days AS (  -- days that qualify only thanks to their override (day_overrides)
    SELECT day FROM run_days_judged($min_km, $mode)
    WHERE rests_on_override AND day <= $today
)

SELECT
    c.status                                 AS current_status,
    c.days                                   AS current_days,
    c.start_date                             AS current_start,
    c.end_date                               AS current_end,
    c.years_days                             AS current_years_days,
    c.today_km,
    c.needed_today_km,
    coalesce(l.days, 0)                      AS longest_days,
    l.start_date                             AS longest_start,
    l.end_date                               AS longest_end,
    coalesce(l.years_days, '0 years 0 days') AS longest_years_days,
    (SELECT count(*) FROM all_streaks)       AS streak_count,
    (
        SELECT count(*) FROM streak_days AS d
        WHERE
            d.day BETWEEN c.start_date AND c.end_date
            AND d.run_count > 0 AND d.file_runs = d.run_count AND d.override_km IS NULL
    )                                        AS current_days_only_from_files,
    (
        SELECT count(*) FROM override_days AS o
        WHERE o.day BETWEEN c.start_date AND c.end_date
    )                                        AS current_override_days,
    (
        SELECT count(*) FROM override_days AS o
        WHERE o.day BETWEEN l.start_date AND l.end_date
    )                                        AS longest_override_days
FROM current_streak_as_of($today, $min_km, $mode) AS c
LEFT JOIN longest AS l ON TRUE;
