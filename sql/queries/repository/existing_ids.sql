SELECT activity_id FROM runs
WHERE list_contains($activity_ids, activity_id);
