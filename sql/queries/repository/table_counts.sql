SELECT
    'runs'   AS table_name,
    count(*) AS row_count
FROM runs
UNION ALL
SELECT
    'live_runs' AS table_name,
    count(*)    AS row_count
FROM runs
WHERE NOT deleted
UNION ALL
SELECT
    'laps'   AS table_name,
    count(*) AS row_count
FROM laps
UNION ALL
SELECT
    'recording_data' AS table_name,
    count(*)         AS row_count
FROM recording_data
UNION ALL
SELECT
    'raw_activities' AS table_name,
    count(*)         AS row_count
FROM raw_activities
UNION ALL
SELECT
    'quarantine' AS table_name,
    count(*)     AS row_count
FROM quarantine
UNION ALL
SELECT
    'sync_state' AS table_name,
    count(*)     AS row_count
FROM sync_state;
