-- Local calendar date of each given run (deleted ones included: a deletion still touches its date).
SELECT
    activity_id,
    start_date
FROM runs
WHERE list_contains($activity_ids, activity_id);
