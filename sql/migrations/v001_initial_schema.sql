-- v001: the initial schema. Applied once, inside a transaction, by DuckDBManager; recorded in schema_version.
-- Units follow SmashRun: distances in km, durations in seconds, temperatures in degrees C.

CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT now()::TIMESTAMP
);

-- One row per SmashRun activity (summary + extended fields). Day logic uses start_date, the LOCAL calendar
-- date taken from the startDateTimeLocal string itself (never from UTC or the machine's zone).
CREATE TABLE IF NOT EXISTS runs (
    activity_id                    VARCHAR PRIMARY KEY,
    activity_type                  VARCHAR,
    start_date_time_local          TIMESTAMP NOT NULL,      -- local wall-clock time, offset removed
    start_date_time_local_raw      VARCHAR NOT NULL,        -- exactly as received, kept for audit
    utc_offset_minutes             INTEGER NOT NULL,
    start_time_utc                 TIMESTAMP NOT NULL,      -- the UTC instant (naive, UTC)
    start_date                     DATE NOT NULL,           -- local calendar date
    year                           INTEGER NOT NULL,
    month                          INTEGER NOT NULL,
    day                            INTEGER NOT NULL,
    day_of_week                    INTEGER NOT NULL,        -- ISO: 1 = Monday … 7 = Sunday
    iso_year                       INTEGER NOT NULL,
    iso_week                       INTEGER NOT NULL,
    distance_km                    DOUBLE NOT NULL CHECK (distance_km > 0),
    duration_seconds               DOUBLE NOT NULL CHECK (duration_seconds >= 0),
    pace_min_per_km                DOUBLE,                  -- NULL when duration is 0
    speed_kph                      DOUBLE,                  -- NULL when duration is 0
    calories                       INTEGER,
    notes                          VARCHAR,
    external_id                    VARCHAR,
    source                         VARCHAR,
    app_version                    VARCHAR,
    device_type                    VARCHAR,
    has_details                    BOOLEAN,
    has_details_gps                BOOLEAN,
    start_latitude                 DOUBLE,
    start_longitude                DOUBLE,
    heart_rate_average             INTEGER,
    heart_rate_min                 INTEGER,
    heart_rate_max                 INTEGER,
    cadence_average                INTEGER,
    cadence_min                    INTEGER,
    cadence_max                    INTEGER,
    body_weight_kg                 DOUBLE,
    how_felt                       VARCHAR,
    terrain                        VARCHAR,
    weather_type                   VARCHAR,
    temperature_celsius            DOUBLE,
    temperature_apparent_celsius   DOUBLE,
    temperature_wind_chill_celsius DOUBLE,
    humidity_percent               INTEGER,
    wind_speed_kph                 INTEGER,
    is_race                        BOOLEAN,
    is_treadmill                   BOOLEAN,
    is_bad_hr                      BOOLEAN,
    is_bad_elevation               BOOLEAN,
    is_cooper_test                 BOOLEAN,
    elevation_gain_m               DOUBLE,
    elevation_loss_m               DOUBLE,
    elevation_ascent_m             DOUBLE,
    elevation_descent_m            DOUBLE,
    elevation_min_m                DOUBLE,
    elevation_net_m                DOUBLE,
    speed_variability              DOUBLE,
    moon_phase                     DOUBLE,
    sunrise_local                  VARCHAR,
    sunset_local                   VARCHAR,
    country_code                   VARCHAR,
    country                        VARCHAR,
    state                          VARCHAR,
    city                           VARCHAR,
    sync_date_time_utc             TIMESTAMP,
    created_at_utc                 TIMESTAMP,               -- SmashRun dateCreatedUTC
    updated_at_utc                 TIMESTAMP,               -- SmashRun dateUpdatedUTC
    deleted                        BOOLEAN NOT NULL DEFAULT FALSE,  -- gone upstream (SmashRun delete flag)
    first_loaded_at                TIMESTAMP NOT NULL DEFAULT now()::TIMESTAMP,  -- audit
    last_loaded_at                 TIMESTAMP NOT NULL DEFAULT now()::TIMESTAMP   -- audit
);

CREATE TABLE IF NOT EXISTS laps (
    activity_id          VARCHAR NOT NULL,
    lap_number           INTEGER NOT NULL,  -- 1-based, in payload order
    lap_type             VARCHAR,
    end_duration_seconds DOUBLE,            -- cumulative seconds from the start
    end_distance_km      DOUBLE,            -- cumulative km
    PRIMARY KEY (activity_id, lap_number)
);

-- Column-major recordings exactly as SmashRun sends them (one series per key, all the same length).
CREATE TABLE IF NOT EXISTS recording_data (
    activity_id      VARCHAR PRIMARY KEY,
    recording_keys   VARCHAR[] NOT NULL,
    recording_values DOUBLE[][] NOT NULL,
    pause_indexes    INTEGER[],
    sample_count     INTEGER NOT NULL
);

-- Every payload as received (summary listing or full detail), kept for audit and re-processing.
CREATE TABLE IF NOT EXISTS raw_activities (
    activity_id    VARCHAR NOT NULL,
    payload_kind   VARCHAR NOT NULL,        -- 'summary' | 'detail'
    payload        JSON NOT NULL,
    updated_at_utc TIMESTAMP,               -- dateUpdatedUTC of that payload, when readable
    fetched_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (activity_id, payload_kind)
);

-- Invalid payloads with the reason; the valid rest of the batch still loads.
CREATE SEQUENCE IF NOT EXISTS quarantine_id_seq;
CREATE TABLE IF NOT EXISTS quarantine (
    quarantine_id  BIGINT PRIMARY KEY DEFAULT nextval('quarantine_id_seq'),
    activity_id    VARCHAR,                 -- when it could be read at all
    payload_kind   VARCHAR NOT NULL,
    payload        VARCHAR NOT NULL,        -- as received (may not even be valid JSON)
    reason         VARCHAR NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);

-- Sync cursors (e.g. 'summaries.updated_since' -> epoch seconds), written in the same transaction as data.
CREATE TABLE IF NOT EXISTS sync_state (
    key        VARCHAR PRIMARY KEY,
    value      VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
