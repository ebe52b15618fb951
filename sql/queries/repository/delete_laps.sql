-- A detail payload replaces the activity's laps (the lap count may have changed).
DELETE FROM laps
WHERE activity_id IN (SELECT activity_id FROM staged_runs);
