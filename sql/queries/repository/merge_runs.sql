-- Set-based upsert of the validated, de-duplicated batch (registered Arrow table `staged_runs`) into `runs`.
-- Only the payloads that win (staged_winners, from staged_verdicts.sql: newer than the stored run, or an
-- equal-stamp detail) reach this statement, so an older payload never replaces a newer run, and a batch whose
-- payloads are all already stored writes nothing at all (not even last_loaded_at).
-- Derived columns (UTC instant, local date parts, pace, speed) are computed here, once for the whole batch.
-- The SET list is explicit because UPDATE BY NAME measured ~0.5 s slower on re-loading 20,000 runs;
-- test_structure.py checks that it names every column of duckdb_ops/staging.py RUNS_COLUMNS.
-- On update: first_loaded_at is kept; deleted / deleted_as_of_utc come from the verdict (a payload stamped
-- after the observed deletion un-deletes and clears deleted_as_of_utc; an older one leaves the run deleted);
-- and when $keep_extended is true (a summary payload, which may lack the extended keys) the extended columns
-- keep their stored values instead of NULL.
MERGE INTO runs
USING (
    SELECT
        s.*,
        s.start_date_time_local - to_minutes(s.utc_offset_minutes)          AS start_time_utc,
        CAST(s.start_date_time_local AS DATE)                               AS start_date,
        year(s.start_date_time_local)                                       AS year,
        month(s.start_date_time_local)                                      AS month,
        day(s.start_date_time_local)                                        AS day,
        isodow(s.start_date_time_local)                                     AS day_of_week,
        isoyear(s.start_date_time_local)                                    AS iso_year,
        weekofyear(s.start_date_time_local)                                 AS iso_week,
        CASE WHEN s.duration_seconds > 0 THEN s.duration_seconds / 60.0 / s.distance_km END  AS pace_min_per_km,
        CASE WHEN s.duration_seconds > 0 THEN s.distance_km / s.duration_seconds * 3600.0 END AS speed_kph,
        w.deleted                                                           AS deleted,
        w.deleted_as_of_utc                                                 AS deleted_as_of_utc,
        now()::TIMESTAMP                                                    AS last_loaded_at
    FROM staged_runs AS s
    INNER JOIN staged_winners AS w ON s.activity_id = w.activity_id
) AS s
ON runs.activity_id = s.activity_id
WHEN MATCHED THEN UPDATE SET
    activity_type                  = s.activity_type,
    start_date_time_local          = s.start_date_time_local,
    start_date_time_local_raw      = s.start_date_time_local_raw,
    utc_offset_minutes             = s.utc_offset_minutes,
    start_time_utc                 = s.start_time_utc,
    start_date                     = s.start_date,
    year                           = s.year,
    month                          = s.month,
    day                            = s.day,
    day_of_week                    = s.day_of_week,
    iso_year                       = s.iso_year,
    iso_week                       = s.iso_week,
    distance_km                    = s.distance_km,
    duration_seconds               = s.duration_seconds,
    pace_min_per_km                = s.pace_min_per_km,
    speed_kph                      = s.speed_kph,
    calories                       = s.calories,
    notes                          = s.notes,
    external_id                    = s.external_id,
    source                         = s.source,
    app_version                    = s.app_version,
    device_type                    = s.device_type,
    has_details                    = s.has_details,
    has_details_gps                = s.has_details_gps,
    start_latitude                 = s.start_latitude,
    start_longitude                = s.start_longitude,
    heart_rate_average             = s.heart_rate_average,
    heart_rate_min                 = s.heart_rate_min,
    heart_rate_max                 = s.heart_rate_max,
    cadence_average                = s.cadence_average,
    cadence_min                    = s.cadence_min,
    cadence_max                    = s.cadence_max,
    body_weight_kg                 = s.body_weight_kg,
    how_felt                       = s.how_felt,
    terrain                        = s.terrain,
    weather_type                   = s.weather_type,
    temperature_celsius            = s.temperature_celsius,
    temperature_apparent_celsius   = s.temperature_apparent_celsius,
    temperature_wind_chill_celsius = s.temperature_wind_chill_celsius,
    humidity_percent               = s.humidity_percent,
    wind_speed_kph                 = s.wind_speed_kph,
    is_race                        = s.is_race,
    is_treadmill                   = s.is_treadmill,
    is_bad_hr                      = s.is_bad_hr,
    is_bad_elevation               = s.is_bad_elevation,
    -- extended keys: absent from plain summary payloads
    is_cooper_test      = CASE WHEN $keep_extended THEN coalesce(s.is_cooper_test, runs.is_cooper_test) ELSE s.is_cooper_test END,
    elevation_gain_m    = CASE WHEN $keep_extended THEN coalesce(s.elevation_gain_m, runs.elevation_gain_m) ELSE s.elevation_gain_m END,
    elevation_loss_m    = CASE WHEN $keep_extended THEN coalesce(s.elevation_loss_m, runs.elevation_loss_m) ELSE s.elevation_loss_m END,
    elevation_ascent_m  = CASE WHEN $keep_extended THEN coalesce(s.elevation_ascent_m, runs.elevation_ascent_m) ELSE s.elevation_ascent_m END,
    elevation_descent_m = CASE WHEN $keep_extended THEN coalesce(s.elevation_descent_m, runs.elevation_descent_m) ELSE s.elevation_descent_m END,
    elevation_min_m     = CASE WHEN $keep_extended THEN coalesce(s.elevation_min_m, runs.elevation_min_m) ELSE s.elevation_min_m END,
    elevation_net_m     = CASE WHEN $keep_extended THEN coalesce(s.elevation_net_m, runs.elevation_net_m) ELSE s.elevation_net_m END,
    speed_variability   = CASE WHEN $keep_extended THEN coalesce(s.speed_variability, runs.speed_variability) ELSE s.speed_variability END,
    moon_phase          = CASE WHEN $keep_extended THEN coalesce(s.moon_phase, runs.moon_phase) ELSE s.moon_phase END,
    sunrise_local       = CASE WHEN $keep_extended THEN coalesce(s.sunrise_local, runs.sunrise_local) ELSE s.sunrise_local END,
    sunset_local        = CASE WHEN $keep_extended THEN coalesce(s.sunset_local, runs.sunset_local) ELSE s.sunset_local END,
    country_code        = CASE WHEN $keep_extended THEN coalesce(s.country_code, runs.country_code) ELSE s.country_code END,
    country             = CASE WHEN $keep_extended THEN coalesce(s.country, runs.country) ELSE s.country END,
    state               = CASE WHEN $keep_extended THEN coalesce(s.state, runs.state) ELSE s.state END,
    city                = CASE WHEN $keep_extended THEN coalesce(s.city, runs.city) ELSE s.city END,
    sync_date_time_utc             = s.sync_date_time_utc,
    created_at_utc                 = s.created_at_utc,
    updated_at_utc                 = s.updated_at_utc,
    deleted                        = s.deleted,
    deleted_as_of_utc              = s.deleted_as_of_utc,
    data_source                    = s.data_source,
    last_loaded_at                 = s.last_loaded_at
WHEN NOT MATCHED THEN INSERT BY NAME;
