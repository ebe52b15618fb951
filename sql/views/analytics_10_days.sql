-- Analytics, part 1: per-day building blocks and the "X years Y days" formatting.
-- A day is runs.start_date: the LOCAL calendar date of each run's own start (never UTC, never the machine's
-- zone). Deleted runs (SmashRun delete flag) never count. Distances are summed as DECIMAL(18, 9) km
-- (micrometre resolution): exact and independent of summation order, so three 536.448 m runs make exactly
-- one mile and 1,609 m never does. Views expose plain doubles.

-- The runner's "today": the date now in the zone stored with the streak rule (MYRUNSTREAK_TIMEZONE), so every
-- reader agrees whatever its machine's zone; without a stored zone, the reading session's TimeZone.
CREATE OR REPLACE MACRO runner_today() AS (
    CAST(timezone(coalesce((SELECT time_zone FROM streak_rule), current_setting('TimeZone')), now()) AS DATE)
);

-- The runs that count: not deleted upstream, not the second record of a run another source also recorded
-- (run_duplicates), and of a sport the rule counts (streak_rule.sports; a file that names no sport is a run;
-- rides and swims never count, whatever is configured). Every view below reads runs through this one.
CREATE OR REPLACE VIEW counted_runs AS
SELECT r.*
FROM runs AS r
WHERE
    NOT r.deleted
    AND NOT EXISTS (
        SELECT 1 FROM run_duplicates AS d
        WHERE d.activity_id = r.activity_id
    )
    AND coalesce(nullif(r.activity_type, 'unknown'), 'running') NOT IN ('cycling', 'swimming')
    AND list_contains(
        coalesce((SELECT any_value(sr.sports) FROM streak_rule AS sr), ['running']),
        coalesce(nullif(r.activity_type, 'unknown'), 'running')
    );

-- One row per local day with at least one counted run; the components every rollup needs.
CREATE OR REPLACE VIEW run_days AS
SELECT
    start_date                                                                               AS day,
    count(*)                                                                                 AS run_count,
    sum(CAST(distance_km AS DECIMAL(18, 9)))                                                 AS total_km_exact,
    max(CAST(distance_km AS DECIMAL(18, 9)))                                                 AS longest_run_km_exact,
    max(distance_km)                                                                         AS longest_run_km,
    arg_max(activity_id, distance_km)                                                        AS longest_run_activity_id,
    sum(duration_seconds)                                                                    AS total_seconds,
    -- pace inputs: zero-duration runs (manual entries without a time) would make the pace look faster
    sum(duration_seconds) FILTER (WHERE duration_seconds > 0)                                AS paced_seconds,
    sum(distance_km) FILTER (WHERE duration_seconds > 0)                                     AS paced_km,
    -- heart rate: each run's average weighted by its duration
    sum(heart_rate_average * duration_seconds) FILTER (WHERE heart_rate_average IS NOT NULL) AS hr_weighted_sum,
    sum(duration_seconds) FILTER (WHERE heart_rate_average IS NOT NULL)                      AS hr_seconds,
    min(start_date_time_local)                                                               AS first_run_at,
    max(start_date_time_local)                                                               AS last_run_at,
    sum(elevation_gain_m)                                                                    AS elevation_gain_m,
    count(*) FILTER (WHERE is_treadmill)                                                     AS treadmill_runs,
    count(*) FILTER (WHERE data_source <> 'smashrun')                                        AS file_runs
FROM counted_runs
GROUP BY start_date;

-- run_days plus both rule checks and whether the day qualifies under the given rule:
-- 'sum' = the day's runs add up to min_km; 'strict' = one run reaches it alone.
CREATE OR REPLACE MACRO run_days_judged(min_km, mode) AS TABLE
    WITH rule_values AS (
        -- each macro argument appears once: arguments are expanded textually (and may be subqueries)
        SELECT
            CAST(min_km AS DECIMAL(18, 9)) AS threshold_km,
            CAST(mode AS VARCHAR)          AS rule_mode
    )

    SELECT
        d.*,
        d.total_km_exact >= r.threshold_km       AS sum_qualifies,
        d.longest_run_km_exact >= r.threshold_km AS strict_qualifies,
        CASE r.rule_mode
            WHEN 'sum' THEN d.total_km_exact >= r.threshold_km
            WHEN 'strict' THEN d.longest_run_km_exact >= r.threshold_km
            ELSE error('streak mode must be ''sum'' or ''strict'', got: ' || coalesce(r.rule_mode, 'NULL'))
        END                                      AS qualifies,
        r.threshold_km,
        r.rule_mode
    FROM run_days AS d
    CROSS JOIN rule_values AS r;

-- The streak audit: every run day, its total, both rule checks and the rule used, so each verdict can be checked.
CREATE OR REPLACE MACRO streak_day_audit(min_km, mode) AS TABLE
    SELECT
        day,
        run_count,
        CAST(total_km_exact AS DOUBLE) AS total_km,
        longest_run_km,
        longest_run_activity_id,
        treadmill_runs,
        sum_qualifies,
        strict_qualifies,
        qualifies,
        CAST(threshold_km AS DOUBLE)   AS threshold_km,
        rule_mode
    FROM run_days_judged(min_km, mode);

CREATE OR REPLACE MACRO qualifying_days(min_km, mode) AS TABLE
    SELECT * EXCLUDE (qualifies, threshold_km, rule_mode) FROM streak_day_audit(min_km, mode)
    WHERE qualifies;

-- "X years Y days": year n is complete at the end of the day before the n-th anniversary
-- of the start; the anniversary day is day 1 of the remainder. A Feb 29 start's anniversary in a common year
-- is Mar 1.
CREATE OR REPLACE MACRO streak_anniversary(start_day, n) AS (
    CASE
        WHEN
            month(start_day) = 2 AND day(start_day) = 29
            AND day(last_day(make_date(year(start_day) + n, 2, 1))) = 28
            THEN make_date(year(start_day) + n, 3, 1)
        ELSE make_date(year(start_day) + n, month(start_day), day(start_day))
    END
);

-- Completed years: anniversaries on or before end_day + 1. Comparing month*100 + day is exact for every start,
-- Feb 29 included: its anniversary (Feb 29 or, in a common year, Mar 1) is after day D + 1 iff D + 1 falls
-- before Feb 29 in month-day order.
CREATE OR REPLACE MACRO streak_completed_years(start_day, end_day) AS (
    year(end_day + 1) - year(start_day)
    - CASE
        WHEN month(end_day + 1) * 100 + day(end_day + 1) < month(start_day) * 100 + day(start_day) THEN 1
        ELSE 0
    END
);

CREATE OR REPLACE MACRO format_years_days(years, days) AS (
    CAST(years AS VARCHAR) || CASE WHEN years = 1 THEN ' year ' ELSE ' years ' END
    || CAST(days AS VARCHAR) || CASE WHEN days = 1 THEN ' day' ELSE ' days' END
);

-- For single values (the CLI, tests). Staged through a subquery because DuckDB expands nested macro
-- arguments textually; the streaks macro stages the same steps as CTE columns.
CREATE OR REPLACE MACRO years_days(start_day, end_day) AS (
    SELECT format_years_days(years, (e - streak_anniversary(s, years)) + 1)
    FROM (
        SELECT
            s,
            e,
            streak_completed_years(s, e) AS years
        FROM (
            SELECT
                CAST(start_day AS DATE) AS s,
                CAST(end_day AS DATE)   AS e
        ) AS bounds
    ) AS completed
);
