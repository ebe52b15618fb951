-- A winning detail payload replaces the activity's laps (the lap count may have changed); a stale detail
-- (not in staged_winners, see staged_verdicts.sql) leaves the stored laps alone.
DELETE FROM laps
WHERE activity_id IN (SELECT activity_id FROM staged_winners);
