-- v004: activity files (FIT, GPX, TCX) as a second source beside SmashRun.
-- 1. Where each run came from: 'smashrun', or the file format ('fit', 'gpx', 'tcx'). runs.source keeps what
--    SmashRun calls a run's source (the app or device that uploaded it).
ALTER TABLE runs ADD COLUMN IF NOT EXISTS data_source VARCHAR DEFAULT 'smashrun';
UPDATE runs SET data_source = 'smashrun'
WHERE data_source IS NULL;

-- 2. One row per imported file (its run is in runs/laps/recording_data under activity_id 'file:<sha256[:16]>').
--    The SHA-256 of the (decompressed) content is the file's identity: a re-import, under any name or
--    compression, is a no-op. zone_source says how the local date was found: 'file' (the file's own local time
--    or offset), 'gps' (the zone of the first fix) or 'default' (MYRUNSTREAK_TIMEZONE).
CREATE TABLE IF NOT EXISTS activity_files (
    activity_id     VARCHAR PRIMARY KEY,
    content_sha256  VARCHAR NOT NULL UNIQUE,
    file_format     VARCHAR NOT NULL CHECK (file_format IN ('fit', 'gpx', 'tcx')),
    file_name       VARCHAR NOT NULL,          -- as first imported (a path, or archive!member)
    title           VARCHAR,                   -- e.g. the activity name from a Strava export's activities.csv
    sport           VARCHAR NOT NULL,          -- running, walking, hiking, cycling, swimming, other, unknown
    sport_raw       VARCHAR,                   -- as the file (or the export's csv) stated it
    zone_source     VARCHAR NOT NULL CHECK (zone_source IN ('file', 'gps', 'default')),
    time_zone       VARCHAR,                   -- IANA name when the zone came from GPS or the default
    elapsed_seconds DOUBLE NOT NULL,           -- start to end, pauses included (runs.duration_seconds is moving time)
    device          VARCHAR,
    imported_at     TIMESTAMP NOT NULL
);

-- 3. Runs recorded by two sources (a watch file and SmashRun, or a FIT and a GPX of one run): the record not
--    counted, the one that is, and why. Recomputed by the same-run rule (sql/queries/duplicates/) in every
--    write's transaction; decided_at is kept while a decision stands.
CREATE TABLE IF NOT EXISTS run_duplicates (
    activity_id          VARCHAR PRIMARY KEY,  -- the record not counted
    kept_activity_id     VARCHAR NOT NULL,     -- the record that counts
    rule                 VARCHAR NOT NULL,
    reason               VARCHAR NOT NULL,
    start_gap_seconds    DOUBLE NOT NULL,
    distance_gap_percent DOUBLE NOT NULL,
    decided_at           TIMESTAMP NOT NULL
);

-- 4. Pairs the runner split ("these are two runs"): never merged again by the rule. (activity_id < other_id.)
CREATE TABLE IF NOT EXISTS duplicate_splits (
    activity_id       VARCHAR NOT NULL,
    other_activity_id VARCHAR NOT NULL,
    split_at          TIMESTAMP NOT NULL,
    PRIMARY KEY (activity_id, other_activity_id),
    CHECK (activity_id < other_activity_id)
);

-- 5. Each raw payload's SHA-256, so the monotonic-update verdict (staged_verdicts.sql) can tell "this very payload
--    is already stored" from a hash instead of reading every stored payload (detail payloads with recordings are
--    hundreds of kB each: reading them all made every batch slower than the last).
ALTER TABLE raw_activities ADD COLUMN IF NOT EXISTS payload_sha256 VARCHAR;
UPDATE raw_activities SET payload_sha256 = sha256(CAST(payload AS VARCHAR))
WHERE payload_sha256 IS NULL;

-- 6. The sports that count for the streak (MYRUNSTREAK_STREAK_SPORTS), stored with the rule so every reader agrees.
ALTER TABLE streak_rule ADD COLUMN IF NOT EXISTS sports VARCHAR[];
UPDATE streak_rule SET sports = ['running']
WHERE sports IS NULL;
