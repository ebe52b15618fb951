-- replace_window: runs stored for [$start_date, $end_date) that the listing fetched at $listed_at (naive UTC)
-- no longer contains were deleted upstream, as of $listed_at. Ids of this batch (valid or quarantined, staged
-- as staged_present_ids) are kept: a run with a bad payload still exists. An anti-join, not list_contains on a
-- bound list: binding 20,000+ ids as a Python list is slow.
-- Ordered like updates (see staged_verdicts.sql):
--   * a run whose stored dateUpdatedUTC is newer than $listed_at was loaded from a newer listing than this
--     one: an older listing cannot know about it, so it is not flagged (ties flag: a deletion observed at T
--     outranks a version stamped T);
--   * deleted_as_of_utc only moves forward (the latest observation of the deletion), so replaying an older
--     listing changes nothing, and re-applying the same listing (S3 retry) is a no-op.
-- Run twice: $already_deleted = false flags live runs (the count is the number newly flagged; last_loaded_at
-- is bumped), then true moves deleted_as_of_utc forward on runs already flagged (no other change).
UPDATE runs
SET
    deleted = TRUE,
    deleted_as_of_utc = $listed_at,
    last_loaded_at = CASE WHEN deleted THEN last_loaded_at ELSE now()::TIMESTAMP END
WHERE
    deleted = $already_deleted
    AND data_source = 'smashrun'  -- a SmashRun listing says nothing about runs from activity files
    AND start_date >= $start_date
    AND start_date < $end_date
    AND (updated_at_utc IS NULL OR updated_at_utc <= $listed_at)
    AND (deleted_as_of_utc IS NULL OR deleted_as_of_utc < $listed_at)
    AND activity_id NOT IN (SELECT activity_id FROM staged_present_ids);
