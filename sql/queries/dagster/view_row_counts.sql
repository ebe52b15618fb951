-- Row counts of the analytics views (dagster/row_count of the analytics assets).
SELECT 'daily_summary' AS relation, count(*) AS row_count FROM daily_summary
UNION ALL SELECT 'weekly_summary', count(*) FROM weekly_summary
UNION ALL SELECT 'monthly_summary', count(*) FROM monthly_summary
UNION ALL SELECT 'yearly_summary', count(*) FROM yearly_summary
UNION ALL SELECT 'streak_analysis', count(*) FROM streak_analysis
UNION ALL SELECT 'current_streak', count(*) FROM current_streak
UNION ALL SELECT 'personal_records', count(*) FROM personal_records
UNION ALL SELECT 'distance_trends', count(*) FROM distance_trends
UNION ALL SELECT 'eddington', count(*) FROM eddington;
