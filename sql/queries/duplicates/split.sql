-- Split every merge that involves $activity_id (as the record dropped or as the one kept): the pairs are stored
-- in duplicate_splits and the rule never merges them again (until `--unsplit`).
INSERT INTO duplicate_splits (activity_id, other_activity_id, split_at)
SELECT
    least(activity_id, kept_activity_id)    AS activity_id,
    greatest(activity_id, kept_activity_id) AS other_activity_id,
    $split_at
FROM run_duplicates
WHERE $activity_id IN (activity_id, kept_activity_id)
ON CONFLICT DO NOTHING
RETURNING activity_id, other_activity_id;
