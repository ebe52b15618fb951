-- Analytics, part 4: personal records, one row per record (the first to reach a tied value wins).
-- Pace records use whole-run distance and time (best efforts within runs need recordings: not here) and
-- ignore zero-duration runs. Buckets: 5K [5, 10) km, 10K [10, 21.0975), half [21.0975, 42.195),
-- marathon >= 42.195 km.

CREATE OR REPLACE VIEW personal_records AS
WITH timed_runs AS (
    SELECT
        activity_id, start_date, start_date_time_local, distance_km,
        duration_seconds / 60.0 / distance_km AS pace_min_per_km,
        CASE
            WHEN distance_km >= 42.195 THEN 'fastest_marathon'
            WHEN distance_km >= 21.0975 THEN 'fastest_half_marathon'
            WHEN distance_km >= 10 THEN 'fastest_10k'
            WHEN distance_km >= 5 THEN 'fastest_5k'
        END AS bucket_record
    FROM runs
    WHERE NOT deleted AND duration_seconds > 0
),
records AS (
    (SELECT 1 AS sort_key, 'longest_run' AS record, distance_km AS value, 'km' AS unit,
            start_date, start_date AS end_date, activity_id
     FROM runs WHERE NOT deleted
     ORDER BY distance_km DESC, start_date_time_local, activity_id LIMIT 1)
    UNION ALL
    (SELECT 2, 'longest_day', total_km, 'km', day, day, longest_run_activity_id
     FROM daily_summary ORDER BY total_km DESC, day LIMIT 1)
    UNION ALL
    (SELECT 3, 'fastest_pace_5k_plus', pace_min_per_km, 'min/km', start_date, start_date, activity_id
     FROM timed_runs WHERE distance_km >= 5
     ORDER BY pace_min_per_km, start_date_time_local, activity_id LIMIT 1)
    UNION ALL
    (SELECT
         CASE bucket_record
             WHEN 'fastest_5k' THEN 4 WHEN 'fastest_10k' THEN 5 WHEN 'fastest_half_marathon' THEN 6 ELSE 7
         END,
         bucket_record, pace_min_per_km, 'min/km', start_date, start_date, activity_id
     FROM timed_runs WHERE bucket_record IS NOT NULL
     QUALIFY row_number() OVER (
         PARTITION BY bucket_record ORDER BY pace_min_per_km, start_date_time_local, activity_id) = 1)
    UNION ALL
    (SELECT 8, 'most_runs_in_a_day', run_count, 'runs', day, day, NULL
     FROM daily_summary ORDER BY run_count DESC, day LIMIT 1)
    UNION ALL
    (SELECT 9, 'biggest_week', total_km, 'km', week_start, week_end, NULL
     FROM weekly_summary ORDER BY total_km DESC, week_start LIMIT 1)
    UNION ALL
    (SELECT 10, 'biggest_month', total_km, 'km', month_start, CAST(last_day(month_start) AS DATE), NULL
     FROM monthly_summary ORDER BY total_km DESC, month_start LIMIT 1)
    UNION ALL
    (SELECT 11, 'biggest_year', total_km, 'km', make_date(year, 1, 1), make_date(year, 12, 31), NULL
     FROM yearly_summary ORDER BY total_km DESC, year LIMIT 1)
    UNION ALL
    (SELECT 12, 'longest_streak', days, 'days', start_date, end_date, NULL
     FROM streak_analysis ORDER BY streak_rank LIMIT 1)
)
SELECT record, CAST(value AS DOUBLE) AS value, unit, start_date, end_date, activity_id
FROM records
ORDER BY sort_key;
