-- Runs deleted upstream (the detail endpoint answered 404), as observed at $as_of (naive UTC). Ordered like
-- updates (see staged_verdicts.sql and flag_deleted_in_window.sql): a run stamped after $as_of is not
-- flagged, and deleted_as_of_utc only moves forward. Run twice: $already_deleted = false flags live runs (the
-- count is the number newly flagged), then true moves deleted_as_of_utc forward on runs already flagged.
UPDATE runs
SET
    deleted = TRUE,
    deleted_as_of_utc = $as_of,
    last_loaded_at = CASE WHEN deleted THEN last_loaded_at ELSE now()::TIMESTAMP END
WHERE
    deleted = $already_deleted
    AND data_source = 'smashrun'  -- SmashRun's 404s only ever concern SmashRun's runs
    AND list_contains($activity_ids, activity_id)
    AND (updated_at_utc IS NULL OR updated_at_utc <= $as_of)
    AND (deleted_as_of_utc IS NULL OR deleted_as_of_utc < $as_of);
