SELECT * FROM runs
WHERE NOT deleted
ORDER BY start_time_utc DESC, activity_id DESC LIMIT 1;
