SELECT 'runs' AS table_name, count(*) AS row_count FROM runs
UNION ALL SELECT 'live_runs', count(*) FROM runs WHERE NOT deleted
UNION ALL SELECT 'laps', count(*) FROM laps
UNION ALL SELECT 'recording_data', count(*) FROM recording_data
UNION ALL SELECT 'raw_activities', count(*) FROM raw_activities
UNION ALL SELECT 'quarantine', count(*) FROM quarantine
UNION ALL SELECT 'sync_state', count(*) FROM sync_state;
