-- Check: each recording has one series per key and every series holds sample_count values (SmashRun's
-- column-major recordings: a short series would shift every later sample). Returns one row (failures, sample).
SELECT
    count(*)                                    AS failures,
    list(activity_id ORDER BY activity_id)[1:5] AS sample
FROM recording_data
WHERE
    len(recording_values) <> len(recording_keys)
    OR len(list_filter(recording_values, series -> len(series) <> sample_count)) > 0;
