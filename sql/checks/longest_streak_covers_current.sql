-- Check: the longest streak is never shorter than the current one (both from the configured rule).
-- Returns one row (failures, longest_days, current_days).
WITH longest AS (
    SELECT coalesce(max(days), 0) AS days FROM streak_analysis
),

ongoing AS (
    SELECT coalesce(max(days), 0) AS days FROM current_streak
)

SELECT
    CAST(longest.days < ongoing.days AS INTEGER) AS failures,
    longest.days                                 AS longest_days,
    ongoing.days                                 AS current_days
FROM longest
CROSS JOIN ongoing;
