-- Analytics, part 4: personal records, one row per record (the first to reach a tied value wins).
-- Pace records use whole-run distance and time (best efforts within runs need recordings: not here) and
-- ignore zero-duration runs. Buckets: 5K [5, 10) km, 10K [10, 21.0975), half [21.0975, 42.195),
-- marathon >= 42.195 km. Day/week/month/year totals are summed exactly from run_days (one pass).

-- asset: Personal records (longest run, fastest paces, biggest periods).
CREATE OR REPLACE VIEW personal_records AS
WITH live_runs AS (
    SELECT
        activity_id,
        start_date,
        start_date_time_local,
        distance_km,
        duration_seconds,
        CASE WHEN duration_seconds > 0 THEN duration_seconds / 60.0 / distance_km END AS pace_min_per_km,
        CASE
            WHEN distance_km >= 42.195 THEN 'fastest_marathon'
            WHEN distance_km >= 21.0975 THEN 'fastest_half_marathon'
            WHEN distance_km >= 10 THEN 'fastest_10k'
            WHEN distance_km >= 5 THEN 'fastest_5k'
        END                                                                           AS bucket_record
    FROM counted_runs
),

days AS MATERIALIZED (
    SELECT
        day,
        run_count,
        total_km_exact,
        longest_run_activity_id
    FROM run_days
),

period_totals AS (
    SELECT
        'week'                                AS period,
        CAST(date_trunc('week', day) AS DATE) AS period_start,
        sum(total_km_exact)                   AS km
    FROM days
    GROUP BY ALL
    UNION ALL
    SELECT
        'month'                                AS period,
        CAST(date_trunc('month', day) AS DATE) AS period_start,
        sum(total_km_exact)                    AS km
    FROM days
    GROUP BY ALL
    UNION ALL
    SELECT
        'year'                                AS period,
        CAST(date_trunc('year', day) AS DATE) AS period_start,
        sum(total_km_exact)                   AS km
    FROM days
    GROUP BY ALL
),

records AS (
    (SELECT
        1             AS sort_key,
        'longest_run' AS record,
        distance_km   AS value,
        'km'          AS unit,
        start_date,
        start_date    AS end_date,
        activity_id
    FROM live_runs
    ORDER BY distance_km DESC, start_date_time_local ASC, activity_id ASC LIMIT 1)
    UNION ALL
    (SELECT
        2                              AS sort_key,
        'longest_day'                  AS record,
        CAST(total_km_exact AS DOUBLE) AS value,
        'km'                           AS unit,
        day                            AS start_date,
        day                            AS end_date,
        longest_run_activity_id        AS activity_id
    FROM days
    ORDER BY total_km_exact DESC, day ASC LIMIT 1)
    UNION ALL
    (SELECT
        3                      AS sort_key,
        'fastest_pace_5k_plus' AS record,
        pace_min_per_km        AS value,
        'min/km'               AS unit,
        start_date,
        start_date             AS end_date,
        activity_id
    FROM live_runs
    WHERE distance_km >= 5 AND pace_min_per_km IS NOT NULL
    ORDER BY pace_min_per_km, start_date_time_local, activity_id LIMIT 1)
    UNION ALL
    (SELECT
        CASE bucket_record
            WHEN 'fastest_5k' THEN 4 WHEN 'fastest_10k' THEN 5 WHEN 'fastest_half_marathon' THEN 6 ELSE 7
        END             AS sort_key,
        bucket_record   AS record,
        pace_min_per_km AS value,
        'min/km'        AS unit,
        start_date,
        start_date      AS end_date,
        activity_id
    FROM live_runs
    WHERE bucket_record IS NOT NULL AND pace_min_per_km IS NOT NULL
    QUALIFY row_number() OVER (
        PARTITION BY bucket_record ORDER BY pace_min_per_km, start_date_time_local, activity_id
    ) = 1)
    UNION ALL
    (SELECT
        8                    AS sort_key,
        'most_runs_in_a_day' AS record,
        run_count            AS value,
        'runs'               AS unit,
        day                  AS start_date,
        day                  AS end_date,
        NULL                 AS activity_id
    FROM days
    ORDER BY run_count DESC, day ASC LIMIT 1)
    UNION ALL
    (SELECT
        CASE period WHEN 'week' THEN 9 WHEN 'month' THEN 10 ELSE 11 END AS sort_key,
        'biggest_' || period                                            AS record,
        CAST(km AS DOUBLE)                                              AS value,
        'km'                                                            AS unit,
        period_start                                                    AS start_date,
        CASE period
            WHEN 'week' THEN period_start + 6
            WHEN 'month' THEN CAST(last_day(period_start) AS DATE)
            ELSE make_date(year(period_start), 12, 31)
        END                                                             AS end_date,
        NULL                                                            AS activity_id
    FROM period_totals
    QUALIFY row_number() OVER (PARTITION BY period ORDER BY km DESC, period_start ASC) = 1)
    UNION ALL
    (SELECT
        12               AS sort_key,
        'longest_streak' AS record,
        days             AS value,
        'days'           AS unit,
        start_date,
        end_date,
        NULL             AS activity_id
    FROM streak_analysis
    ORDER BY streak_rank LIMIT 1)
)

SELECT
    record,
    CAST(value AS DOUBLE) AS value,
    unit,
    start_date,
    end_date,
    activity_id
FROM records
ORDER BY sort_key;
