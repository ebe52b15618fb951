-- v003: trust at the edges.
-- 1. The runner's IANA time zone is stored with the streak rule, so "today" in the plain views (current_streak,
--    year-to-date) is the runner's day for every reader, whatever the reading machine's zone. NULL (no
--    MYRUNSTREAK_TIMEZONE configured): the reading session's TimeZone setting.
ALTER TABLE streak_rule ADD COLUMN IF NOT EXISTS time_zone VARCHAR;

-- 2. Deletions are ordered like updates: a run flagged deleted by a listing fetched at deleted_as_of_utc is
--    brought back only by a payload whose dateUpdatedUTC is newer than that (SmashRun bumps dateUpdatedUTC on
--    every edit, delete and undelete), never by an older payload replayed by a slow writer or a retry.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS deleted_as_of_utc TIMESTAMP;

-- 3. Detail ids whose fetch keeps failing (5xx, garbage, dropped connection): the reason, how often, and when
--    to try again (exponential backoff); after the configured number of attempts the id is given up on.
--    A successful fetch removes the row.
CREATE TABLE IF NOT EXISTS detail_failures (
    activity_id     VARCHAR PRIMARY KEY,
    attempts        INTEGER NOT NULL CHECK (attempts > 0),
    first_failed_at TIMESTAMP NOT NULL,
    last_failed_at  TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_reason     VARCHAR NOT NULL,
    gave_up         BOOLEAN NOT NULL DEFAULT FALSE
);
