-- One change to day_overrides: what was done to which day, with which distance, why, by whom and when.
INSERT INTO override_audit (action, day, km, reason, done_by, done_at)
VALUES ($action, $day, $km, $reason, $who, $at);
