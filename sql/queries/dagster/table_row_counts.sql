-- Exact row counts of the stored tables the Dagster assets report (dagster/row_count).
SELECT 'runs' AS relation, count(*) AS row_count FROM runs
UNION ALL SELECT 'live_runs', count(*) FROM runs WHERE NOT deleted
UNION ALL SELECT 'raw_activity_summaries', count(*) FROM raw_activities WHERE payload_kind = 'summary'
UNION ALL SELECT 'raw_activity_details', count(*) FROM raw_activities WHERE payload_kind = 'detail'
UNION ALL SELECT 'laps', count(*) FROM laps
UNION ALL SELECT 'recording_data', count(*) FROM recording_data
UNION ALL SELECT 'quarantine', count(*) FROM quarantine;
