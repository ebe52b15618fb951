UPDATE runs
SET deleted = true, last_loaded_at = now()::TIMESTAMP
WHERE NOT deleted AND list_contains($activity_ids, activity_id);
