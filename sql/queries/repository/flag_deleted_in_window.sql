-- replace_window: runs stored for [$start_date, $end_date) that the fresh listing no longer contains were
-- deleted upstream. Ids of this batch (valid or quarantined, staged as staged_present_ids) are kept: a run with
-- a bad payload still exists. An anti-join, not list_contains on a bound list: binding 20,000+ ids as a Python
-- list is slow.
UPDATE runs
SET deleted = TRUE, last_loaded_at = now()::TIMESTAMP
WHERE
    NOT deleted
    AND start_date >= $start_date
    AND start_date < $end_date
    AND activity_id NOT IN (SELECT activity_id FROM staged_present_ids);
