-- The streak calendar's cells: every local day with runs in [$first_day, $last_day], its distance, and
-- whether it lies in a streak of streak_analysis (and in the longest one). Streaks never overlap, so each day
-- matches at most one streak; the range join runs as one inequality join, not per day.
SELECT
    d.day,
    d.total_km,
    s.streak_rank IS NOT NULL          AS in_streak,
    coalesce(s.streak_rank = 1, FALSE) AS in_longest_streak
FROM daily_summary AS d
LEFT JOIN streak_analysis AS s ON d.day BETWEEN s.start_date AND s.end_date
WHERE d.day BETWEEN CAST($first_day AS DATE) AND CAST($last_day AS DATE)
ORDER BY d.day;
