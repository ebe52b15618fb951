-- Check: the longest streak is never shorter than the current one (both from the configured rule).
-- Returns one row (failures, longest_days, current_days).
SELECT CAST(longest.days < current.days AS INTEGER) AS failures,
       longest.days                                 AS longest_days,
       current.days                                 AS current_days
FROM (SELECT coalesce(max(days), 0) AS days FROM streak_analysis) AS longest,
     (SELECT coalesce(max(days), 0) AS days FROM current_streak) AS current;
