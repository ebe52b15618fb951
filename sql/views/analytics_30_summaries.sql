-- Analytics, part 3: daily, weekly (ISO, Monday start), monthly and yearly summaries on local dates.
-- Average pace = total time / total distance of runs that have a duration (zero-duration runs ignored);
-- average heart rate = the runs' average HR weighted by their duration.

-- The run days (each run once, on its own day) with the streak's verdict on each under the stored rule. A verdict
-- may rest on more than the day's runs (an override, or a midnight run's second day: streak_days); the totals never
-- count those twice.
CREATE OR REPLACE VIEW judged_run_days AS
SELECT
    d.*,
    coalesce(j.qualifies, FALSE)        AS qualifies,
    coalesce(j.sum_qualifies, FALSE)    AS sum_qualifies,
    coalesce(j.strict_qualifies, FALSE) AS strict_qualifies
FROM run_days AS d
LEFT JOIN run_days_judged((SELECT min_km FROM streak_rule), (SELECT mode FROM streak_rule)) AS j ON d.day = j.day;

-- asset: One row per local day with runs: distance, time, pace, heart rate, whether it qualifies.
CREATE OR REPLACE VIEW daily_summary AS
SELECT
    d.day,
    d.run_count,
    CAST(d.total_km_exact AS DOUBLE)               AS total_km,
    d.total_seconds,
    d.paced_seconds / 60.0 / nullif(d.paced_km, 0) AS avg_pace_min_per_km,
    d.hr_weighted_sum / nullif(d.hr_seconds, 0)    AS avg_heart_rate,
    d.first_run_at,
    d.last_run_at,
    d.longest_run_km,
    d.longest_run_activity_id,
    d.elevation_gain_m,
    d.treadmill_runs,
    d.qualifies,
    d.sum_qualifies,
    d.strict_qualifies
FROM judged_run_days AS d;

-- Rollup of the run days (judged by the stored rule) to periods: `period` is a date_trunc unit
-- ('week' is ISO, starting on Monday).
CREATE OR REPLACE MACRO period_summary(period) AS TABLE
    SELECT
        CAST(date_trunc(period, day) AS DATE)                AS period_start,
        CAST(sum(total_km_exact) AS DOUBLE)                  AS total_km,
        sum(run_count)                                       AS run_count,
        sum(total_seconds)                                   AS total_seconds,
        sum(paced_seconds) / 60.0 / nullif(sum(paced_km), 0) AS avg_pace_min_per_km,
        sum(hr_weighted_sum) / nullif(sum(hr_seconds), 0)    AS avg_heart_rate,
        max(longest_run_km)                                  AS longest_run_km,
        arg_max(longest_run_activity_id, longest_run_km)     AS longest_run_activity_id,
        count(*)                                             AS days_run,
        count(*) FILTER (WHERE qualifies)                    AS qualifying_days,
        count(*) FILTER (WHERE strict_qualifies)             AS strict_qualifying_days,
        sum(elevation_gain_m)                                AS elevation_gain_m
    FROM judged_run_days
    GROUP BY period_start;

-- asset: ISO weeks (Monday start): totals, pace, days run, qualifying days.
CREATE OR REPLACE VIEW weekly_summary AS
SELECT
    CAST(isoyear(period_start) AS INTEGER)    AS iso_year,
    CAST(weekofyear(period_start) AS INTEGER) AS iso_week,
    period_start                              AS week_start,
    period_start + 6                          AS week_end,
    * EXCLUDE (period_start)
FROM period_summary('week')
ORDER BY week_start;

-- asset: Calendar months: totals, pace, days run, qualifying days.
CREATE OR REPLACE VIEW monthly_summary AS
SELECT
    CAST(year(period_start) AS INTEGER)  AS year,
    CAST(month(period_start) AS INTEGER) AS month,
    period_start                         AS month_start,
    * EXCLUDE (period_start)
FROM period_summary('month')
ORDER BY month_start;

-- asset: Calendar years: totals, pace, days run, qualifying days.
CREATE OR REPLACE VIEW yearly_summary AS
SELECT
    CAST(year(period_start) AS INTEGER) AS year,
    * EXCLUDE (period_start)
FROM period_summary('year')
ORDER BY year;
