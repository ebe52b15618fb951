-- The current run streak as of $today in 'sum' mode: consecutive LOCAL dates on which the live runs sum to
-- >= $min_km (no cap on length; runs dated after $today are ignored). Delegates to the analytics macro
-- (sql/views/analytics_20_streaks.sql) so the repository and the views share one exact (DECIMAL) day total
-- and one status rule (active: today qualifies; at_risk: yesterday qualifies, today not yet; broken: neither).
SELECT
    days,
    start_date,
    end_date,
    status
FROM current_streak_as_of($today, $min_km, 'sum');
