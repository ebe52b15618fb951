SELECT * FROM runs
WHERE activity_id = $activity_id;
