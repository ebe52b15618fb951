-- v005: a streaker's tools (streak-rules §1.3, §4–§5).
-- 1. The day-attribution policy, stored with the rule so every reader agrees: 'activity_local' (a run counts for
--    the calendar day of its own local start: the default) or 'home_zone' (the day in streak_rule.time_zone,
--    for runners who anchor the streak at home); and whether a run across local midnight also counts for the
--    next day (activitystreak.com's rule; off by default: a run counts once, for its start day).
ALTER TABLE streak_rule ADD COLUMN IF NOT EXISTS day_policy VARCHAR DEFAULT 'activity_local';
ALTER TABLE streak_rule ADD COLUMN IF NOT EXISTS midnight_both_days BOOLEAN DEFAULT FALSE;
UPDATE streak_rule SET day_policy = 'activity_local'
WHERE day_policy IS NULL;
UPDATE streak_rule SET midnight_both_days = FALSE
WHERE midnight_both_days IS NULL;

-- 2. Travel days (the Washburne rule for date-line days): on `day`, runs count by the calendar of `zone`, the
--    zone the runner left ('departure') or entered ('arrival'); a run whose start falls on `day` in that zone
--    counts for `day`, whatever its own local date. Who set it, when and why are kept.
CREATE TABLE IF NOT EXISTS travel_days (
    day    DATE PRIMARY KEY,
    zone   VARCHAR NOT NULL,   -- IANA name
    side   VARCHAR NOT NULL CHECK (side IN ('departure', 'arrival')),
    reason VARCHAR,
    set_by VARCHAR NOT NULL,
    set_at TIMESTAMP NOT NULL
);

-- 3. Overrides: a day that counts with a distance no source recorded (a lost watch file, a race without a
--    device), never mixed into runs. The current ones, and every change to them (add, replace, remove).
CREATE TABLE IF NOT EXISTS day_overrides (
    day      DATE PRIMARY KEY,
    km       DOUBLE NOT NULL CHECK (km > 0 AND km <= 2000),
    reason   VARCHAR NOT NULL CHECK (length(trim(reason)) > 0),
    added_by VARCHAR NOT NULL,
    added_at TIMESTAMP NOT NULL
);

CREATE SEQUENCE IF NOT EXISTS override_audit_id_seq;
CREATE TABLE IF NOT EXISTS override_audit (
    audit_id BIGINT PRIMARY KEY DEFAULT nextval('override_audit_id_seq'),
    action   VARCHAR NOT NULL CHECK (action IN ('add', 'replace', 'remove')),
    day      DATE NOT NULL,
    km       DOUBLE,               -- the distance added, or the one removed
    reason   VARCHAR NOT NULL,     -- why (for a removal: why it was removed)
    done_by  VARCHAR NOT NULL,
    done_at  TIMESTAMP NOT NULL
);
