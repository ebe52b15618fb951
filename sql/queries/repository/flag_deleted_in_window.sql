-- replace_window: runs stored for [$start_date, $end_date) that the fresh listing no longer contains were
-- deleted upstream. Ids of this batch (valid or quarantined) are kept: a run with a bad payload still exists.
UPDATE runs
SET deleted = true, last_loaded_at = now()::TIMESTAMP
WHERE NOT deleted
  AND start_date >= $start_date
  AND start_date < $end_date
  AND NOT list_contains($present_ids, activity_id);
