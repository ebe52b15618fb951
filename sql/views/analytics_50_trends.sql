-- Analytics, part 5: distance trends on a dense calendar (days and months without runs count as 0).

-- Per calendar day from the first to the last run day: rolling 7/28/365-day distance (windows end on the
-- day, inclusive), month- and year-to-date, and year-to-date on the same date one year earlier (Feb 29 ->
-- Feb 28 of a common year).
-- asset: Rolling distance trends.
CREATE OR REPLACE VIEW distance_trends AS
WITH calendar AS (
    SELECT CAST(unnest(generate_series(min(day), max(day), INTERVAL 1 DAY)) AS DATE) AS day FROM run_days
),

daily AS (
    SELECT
        c.day,
        coalesce(CAST(d.total_km_exact AS DOUBLE), 0.0) AS km,
        coalesce(d.run_count, 0)                        AS run_count
    FROM calendar AS c LEFT JOIN run_days AS d ON c.day = d.day
),

rolling AS (
    SELECT
        day,
        km,
        run_count,
        sum(km) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)   AS rolling_7d_km,
        sum(km) OVER (ORDER BY day ROWS BETWEEN 27 PRECEDING AND CURRENT ROW)  AS rolling_28d_km,
        sum(km) OVER (ORDER BY day ROWS BETWEEN 364 PRECEDING AND CURRENT ROW) AS rolling_365d_km,
        sum(km) OVER (PARTITION BY date_trunc('month', day) ORDER BY day)      AS month_to_date_km,
        sum(km) OVER (PARTITION BY year(day) ORDER BY day)                     AS year_to_date_km
    FROM daily
)

SELECT
    r.*,
    p.year_to_date_km AS previous_year_to_date_km
FROM rolling AS r
LEFT JOIN rolling AS p ON p.day = CAST(r.day - INTERVAL 1 YEAR AS DATE)
ORDER BY r.day;

-- Per calendar month: totals, averages, the rolling 12-month total and the same month a year earlier.
CREATE OR REPLACE VIEW monthly_distance_trends AS
WITH months AS (
    SELECT
        CAST(unnest(generate_series(
            date_trunc('month', min(day)), date_trunc('month', max(day)),
            INTERVAL 1 MONTH
        )) AS DATE) AS month_start
    FROM run_days
),

monthly AS (
    SELECT
        m.month_start,
        coalesce(s.total_km, 0.0) AS total_km,
        coalesce(s.run_count, 0)  AS run_count,
        coalesce(s.days_run, 0)   AS days_run
    FROM months AS m LEFT JOIN monthly_summary AS s ON m.month_start = s.month_start
)

SELECT
    month_start,
    total_km,
    run_count,
    days_run,
    total_km / day(last_day(month_start))                                               AS avg_km_per_day,
    total_km / nullif(run_count, 0)                                                     AS avg_km_per_run,
    sum(total_km) OVER (ORDER BY month_start ROWS BETWEEN 11 PRECEDING AND CURRENT ROW) AS rolling_12_month_km,
    lag(total_km, 12) OVER (ORDER BY month_start)                                       AS same_month_previous_year_km
FROM monthly
ORDER BY month_start;

-- Year-to-date vs the same date in every year: distance from Jan 1 through the month/day of `as_of`.
CREATE OR REPLACE MACRO year_to_date_comparison_as_of(as_of) AS TABLE
    WITH through AS (
        SELECT
            CAST(as_of AS DATE)                    AS as_of_day,
            strftime(CAST(as_of AS DATE), '%m-%d') AS month_day
    )

    SELECT
        CAST(year(d.day) AS INTEGER)                                                         AS year,
        t.month_day                                                                          AS through_month_day,
        coalesce(CAST(sum(d.total_km_exact) FILTER (WHERE strftime(d.day, '%m-%d') <= t.month_day) AS DOUBLE), 0.0)
            AS year_to_date_km,
        coalesce(sum(d.run_count) FILTER (WHERE strftime(d.day, '%m-%d') <= t.month_day), 0) AS year_to_date_runs,
        CAST(sum(d.total_km_exact) AS DOUBLE)                                                AS full_year_km
    FROM run_days AS d
    CROSS JOIN through AS t
    WHERE d.day <= t.as_of_day
    GROUP BY year(d.day), t.month_day
    ORDER BY year;

CREATE OR REPLACE VIEW year_to_date_comparison AS
SELECT * FROM year_to_date_comparison_as_of(runner_today());
