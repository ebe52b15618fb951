-- Remove the override of a day (the audit row is written in the same transaction).
DELETE FROM day_overrides
WHERE day = $day;
