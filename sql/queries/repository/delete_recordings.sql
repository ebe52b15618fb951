-- A winning detail payload replaces the activity's recording (or removes it when the new payload has none); a
-- stale detail (not in staged_winners, see staged_verdicts.sql) leaves the stored recording alone.
DELETE FROM recording_data
WHERE activity_id IN (SELECT activity_id FROM staged_winners);
