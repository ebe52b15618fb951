-- Analytics, part 1: per-day building blocks and the "X years Y days" formatting.
-- A day is a LOCAL calendar date (never UTC, never the machine's zone): by default the date of each run's own
-- local start (runs.start_date); see run_day_attribution for the policies. Deleted runs (SmashRun delete flag)
-- never count. Distances are summed as DECIMAL(18, 9) km
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
WITH counted_sports AS (
    SELECT coalesce(any_value(sr.sports), ['running']) AS sports FROM streak_rule AS sr
)

SELECT r.*
FROM runs AS r
CROSS JOIN counted_sports AS cs
LEFT JOIN run_duplicates AS d ON r.activity_id = d.activity_id
WHERE
    NOT r.deleted
    AND d.activity_id IS NULL
    AND coalesce(nullif(r.activity_type, 'unknown'), 'running') NOT IN ('cycling', 'swimming')
    AND list_contains(cs.sports, coalesce(nullif(r.activity_type, 'unknown'), 'running'));

-- Which calendar day each counted run counts for (streak-rules §1.3), one row per (run, day), with the run's
-- columns, the zone that dated it and whether it is the run's own day:
--   * a travel day (travel_days, the Washburne rule) claims every run whose start falls on it in the zone the
--     runner chose (the one left or the one entered), whatever the run's own local date;
--   * otherwise the policy stored with the rule: 'activity_local' (default) = the date of the run's own local
--     start (runs.start_date, from startDateTimeLocal); 'home_zone' = the date of its start in streak_rule's zone;
--   * with midnight_both_days, a run that goes on past the next midnight (start + duration, in the same zone)
--     also counts for the next day: is_primary = FALSE. Only the streak uses such second days; every total
--     (run_days) counts a run once.
-- A DST changeover day is an ordinary day: dates come from wall-clock times in IANA zones, never from 24 h steps.
CREATE OR REPLACE VIEW run_day_attribution AS
WITH stored_rule AS (
    SELECT
        coalesce(any_value(sr.day_policy), 'activity_local') AS day_policy,
        any_value(sr.time_zone)                              AS home_zone,
        coalesce(any_value(sr.midnight_both_days), FALSE)    AS both_days
    FROM streak_rule AS sr
),

travelled AS (  -- the runs a travel day claims (the earliest travel day, should two claim one run)
    SELECT
        r.activity_id,
        t.day                                               AS travel_day,
        t.zone                                              AS travel_zone,
        t.side                                              AS travel_side,
        timezone(t.zone, timezone('UTC', r.start_time_utc)) AS travel_local_start
    FROM travel_days AS t
    INNER JOIN runs AS r
        ON
            r.start_date BETWEEN t.day - 2 AND t.day + 2
            AND CAST(timezone(t.zone, timezone('UTC', r.start_time_utc)) AS DATE) = t.day
    QUALIFY row_number() OVER (PARTITION BY r.activity_id ORDER BY t.day) = 1
),

dated AS (  -- one pass over the counted runs, all their columns carried
    SELECT
        r.* EXCLUDE (day),  -- noqa: RF02, RF04
        stored_rule.both_days,
        coalesce(
            tr.travel_local_start,
            CASE
                WHEN stored_rule.day_policy = 'home_zone' AND stored_rule.home_zone IS NOT NULL
                    THEN timezone(stored_rule.home_zone, timezone('UTC', r.start_time_utc))
                ELSE r.start_date_time_local
            END
        )   AS counted_local_start,
        CASE
            WHEN tr.travel_day IS NOT NULL THEN 'travel day, ' || tr.travel_side || ' zone ' || tr.travel_zone
            WHEN stored_rule.day_policy = 'home_zone' AND stored_rule.home_zone IS NOT NULL
                THEN 'home zone ' || stored_rule.home_zone
            ELSE
                'activity-local, UTC' || CASE WHEN r.utc_offset_minutes < 0 THEN '-' ELSE '+' END
                || lpad(CAST(abs(r.utc_offset_minutes) // 60 AS VARCHAR), 2, '0') || ':'
                || lpad(CAST(abs(r.utc_offset_minutes) % 60 AS VARCHAR), 2, '0')
        END AS zone_used
    FROM counted_runs AS r
    CROSS JOIN stored_rule
    LEFT JOIN travelled AS tr ON r.activity_id = tr.activity_id
),

-- Each run's own day, and for a run across midnight (when the rule says so) the next day too: one pass with unnest
-- rather than a UNION ALL over `dated` (a CTE read twice is materialized: measured 2.5x slower).
counted AS (
    SELECT
        d.*,
        CAST(d.counted_local_start AS DATE) AS own_day,
        unnest(
            CASE
                WHEN
                    d.both_days
                    AND d.counted_local_start + to_microseconds(CAST(d.duration_seconds * 1000000 AS BIGINT))
                    > CAST(CAST(d.counted_local_start AS DATE) + 1 AS TIMESTAMP)
                    THEN [CAST(d.counted_local_start AS DATE), CAST(d.counted_local_start AS DATE) + 1]
                ELSE [CAST(d.counted_local_start AS DATE)]
            END
        )                                   AS counted_day
    FROM dated AS d
)

-- runs.day (the day of the month) gives way to the day the run counts for
SELECT
    c.* EXCLUDE (both_days, counted_local_start, own_day, counted_day, zone_used),  -- noqa: RF03
    c.counted_day             AS day,  -- noqa: RF04
    CASE
        WHEN c.counted_day = c.own_day THEN c.zone_used
        ELSE c.zone_used || '; across midnight'
    END                       AS zone_used,
    c.counted_day = c.own_day AS is_primary
FROM counted AS c;

-- One row per day with at least one counted run (each run once, on its own day): what every total adds up.
CREATE OR REPLACE VIEW run_days AS
SELECT
    day,
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
FROM run_day_attribution
WHERE is_primary
GROUP BY day;

-- The days as the streak sees them: the runs of each day (a midnight run's second day included) and the day's
-- override (day_overrides: a distance with its reason, never a run). total_km_exact and longest_run_km_exact
-- include the override's distance (in 'strict' mode an override counts as one run of that length);
-- runs_km_exact and runs_longest_km_exact are the runs' alone, so a verdict can say it rests on an override.
CREATE OR REPLACE VIEW streak_days AS
WITH by_day AS (
    SELECT
        day,
        count(*)                                          AS run_count,
        sum(CAST(distance_km AS DECIMAL(18, 9)))          AS runs_km_exact,
        max(CAST(distance_km AS DECIMAL(18, 9)))          AS runs_longest_km_exact,
        arg_max(activity_id, distance_km)                 AS longest_run_activity_id,
        count(*) FILTER (WHERE is_treadmill)              AS treadmill_runs,
        count(*) FILTER (WHERE data_source <> 'smashrun') AS file_runs
    FROM run_day_attribution
    GROUP BY day
)

SELECT
    coalesce(b.day, o.day)                                                       AS day,
    coalesce(b.run_count, 0)                                                     AS run_count,
    coalesce(b.runs_km_exact, 0) + coalesce(CAST(o.km AS DECIMAL(18, 9)), 0)     AS total_km_exact,
    greatest(coalesce(b.runs_longest_km_exact, 0), CAST(o.km AS DECIMAL(18, 9))) AS longest_run_km_exact,
    CAST(greatest(coalesce(b.runs_longest_km_exact, 0), 0) AS DOUBLE)            AS longest_run_km,
    b.longest_run_activity_id,
    coalesce(b.treadmill_runs, 0)                                                AS treadmill_runs,
    coalesce(b.file_runs, 0)                                                     AS file_runs,
    coalesce(b.runs_km_exact, 0)                                                 AS runs_km_exact,
    coalesce(b.runs_longest_km_exact, 0)                                         AS runs_longest_km_exact,
    o.km                                                                         AS override_km,
    o.reason                                                                     AS override_reason
FROM by_day AS b
FULL OUTER JOIN day_overrides AS o ON b.day = o.day;

-- streak_days plus both rule checks and whether the day qualifies under the given rule:
-- 'sum' = the day's runs (and override) add up to min_km; 'strict' = one run (or the override) reaches it alone.
-- rests_on_override: the day qualifies, but its runs alone would not.
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
        r.rule_mode,
        d.override_km IS NOT NULL AND NOT CASE r.rule_mode
            WHEN 'sum' THEN d.runs_km_exact >= r.threshold_km
            ELSE d.runs_longest_km_exact >= r.threshold_km
        END                                      AS rests_on_override
    FROM streak_days AS d
    CROSS JOIN rule_values AS r;

-- The streak audit: every day with runs or an override, its total, both rule checks and the rule used, so each
-- verdict can be checked.
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
        rule_mode,
        override_km,
        override_reason,
        rests_on_override
    FROM run_days_judged(min_km, mode);

CREATE OR REPLACE MACRO qualifying_days(min_km, mode) AS TABLE
    SELECT * EXCLUDE (qualifies, threshold_km, rule_mode, override_km, override_reason, rests_on_override)
    FROM streak_day_audit(min_km, mode)
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
