-- Exact row counts of the stored tables the Dagster assets report (dagster/row_count).
SELECT
    'runs'   AS relation,
    count(*) AS row_count
FROM runs
UNION ALL
SELECT
    'live_runs' AS relation,
    count(*)    AS row_count
FROM runs
WHERE NOT deleted
UNION ALL
SELECT
    'raw_activity_summaries' AS relation,
    count(*)                 AS row_count
FROM raw_activities
WHERE payload_kind = 'summary'
UNION ALL
SELECT
    'raw_activity_details' AS relation,
    count(*)               AS row_count
FROM raw_activities
WHERE payload_kind = 'detail'
UNION ALL
SELECT
    'laps'   AS relation,
    count(*) AS row_count
FROM laps
UNION ALL
SELECT
    'recording_data' AS relation,
    count(*)         AS row_count
FROM recording_data
UNION ALL
SELECT
    'quarantine' AS relation,
    count(*)     AS row_count
FROM quarantine;
