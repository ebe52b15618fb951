-- A detail payload replaces the activity's recording (or removes it when the new payload has none).
DELETE FROM recording_data
WHERE activity_id IN (SELECT activity_id FROM staged_runs);
