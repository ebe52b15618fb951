-- Add the override of a day, or replace the one it had (the audit row is written in the same transaction).
INSERT OR REPLACE INTO day_overrides (day, km, reason, added_by, added_at)
VALUES ($day, $km, $reason, $who, $at);
