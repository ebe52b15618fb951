-- Set-based upsert of the validated, de-duplicated batch (registered Arrow table `staged_runs`) into `runs`.
-- Columns are matched BY NAME: the staged columns (duckdb_ops/staging.py RUNS_COLUMNS) plus the derived ones
-- computed here once for the whole batch (UTC instant, local date parts, pace, speed), so no column list is
-- kept here. On update: first_loaded_at is kept (not in the source), the run is un-deleted, and when
-- $keep_extended is true (a summary payload, which may lack the extended keys) each extended column keeps its
-- stored value where the payload has none.
MERGE INTO runs
USING (
    SELECT
        s.* REPLACE (
            CASE WHEN $keep_extended THEN coalesce(s.is_cooper_test, r.is_cooper_test) ELSE s.is_cooper_test END
                AS is_cooper_test,
            CASE WHEN $keep_extended THEN coalesce(s.elevation_gain_m, r.elevation_gain_m) ELSE s.elevation_gain_m END
                AS elevation_gain_m,
            CASE WHEN $keep_extended THEN coalesce(s.elevation_loss_m, r.elevation_loss_m) ELSE s.elevation_loss_m END
                AS elevation_loss_m,
            CASE
                WHEN $keep_extended THEN coalesce(s.elevation_ascent_m, r.elevation_ascent_m) ELSE s.elevation_ascent_m
            END AS elevation_ascent_m,
            CASE
                WHEN $keep_extended THEN coalesce(s.elevation_descent_m, r.elevation_descent_m)
                ELSE s.elevation_descent_m
            END AS elevation_descent_m,
            CASE WHEN $keep_extended THEN coalesce(s.elevation_min_m, r.elevation_min_m) ELSE s.elevation_min_m END
                AS elevation_min_m,
            CASE WHEN $keep_extended THEN coalesce(s.elevation_net_m, r.elevation_net_m) ELSE s.elevation_net_m END
                AS elevation_net_m,
            CASE
                WHEN $keep_extended THEN coalesce(s.speed_variability, r.speed_variability) ELSE s.speed_variability
            END AS speed_variability,
            CASE WHEN $keep_extended THEN coalesce(s.moon_phase, r.moon_phase) ELSE s.moon_phase END AS moon_phase,
            CASE WHEN $keep_extended THEN coalesce(s.sunrise_local, r.sunrise_local) ELSE s.sunrise_local END
                AS sunrise_local,
            CASE WHEN $keep_extended THEN coalesce(s.sunset_local, r.sunset_local) ELSE s.sunset_local END
                AS sunset_local,
            CASE WHEN $keep_extended THEN coalesce(s.country_code, r.country_code) ELSE s.country_code END
                AS country_code,
            CASE WHEN $keep_extended THEN coalesce(s.country, r.country) ELSE s.country END AS country,
            CASE WHEN $keep_extended THEN coalesce(s.state, r.state) ELSE s.state END AS state,
            CASE WHEN $keep_extended THEN coalesce(s.city, r.city) ELSE s.city END AS city
        ),
        s.start_date_time_local - to_minutes(s.utc_offset_minutes) AS start_time_utc,
        cast(s.start_date_time_local AS DATE) AS start_date,
        year(s.start_date_time_local) AS year,
        month(s.start_date_time_local) AS month,
        day(s.start_date_time_local) AS day,
        isodow(s.start_date_time_local) AS day_of_week,
        isoyear(s.start_date_time_local) AS iso_year,
        weekofyear(s.start_date_time_local) AS iso_week,
        CASE WHEN s.duration_seconds > 0 THEN s.duration_seconds / 60.0 / s.distance_km END AS pace_min_per_km,
        CASE WHEN s.duration_seconds > 0 THEN s.distance_km / s.duration_seconds * 3600.0 END AS speed_kph,
        false AS deleted,
        now()::TIMESTAMP AS last_loaded_at
    FROM staged_runs AS s
    LEFT JOIN runs AS r ON s.activity_id = r.activity_id
) AS s
    ON runs.activity_id = s.activity_id
WHEN MATCHED THEN UPDATE BY NAME
WHEN NOT MATCHED THEN INSERT BY NAME;
