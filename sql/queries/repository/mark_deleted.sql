UPDATE runs
SET deleted = TRUE, last_loaded_at = now()::TIMESTAMP
WHERE NOT deleted AND list_contains($activity_ids, activity_id);
