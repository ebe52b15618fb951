-- The pairs the runner split (never merged again), newest first.
SELECT
    activity_id,
    other_activity_id,
    split_at
FROM duplicate_splits
ORDER BY split_at DESC, activity_id ASC, other_activity_id ASC;
