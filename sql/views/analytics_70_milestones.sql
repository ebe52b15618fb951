-- Analytics, part 7: milestones over the whole history (every run ever loaded, not only since sign-up), one row
-- per milestone reached, with the local date it was reached. Days after the runner's today are ignored.
--   streak_days   : 100, 365, 500, 1,000, 2,000, 5,000, 10,000, 15,000, 20,000 days of a streak (every streak
--                   under the stored rule): reached on start + N - 1.
--   streak_years  : each completed year of a streak (streak_anniversary: year n is complete at the end of the
--                   day before the n-th anniversary; a Feb 29 start's anniversary in a common year is Mar 1).
--   lifetime_km   : the day the cumulative distance (run_days, exact decimal km) first reached the threshold.
--   eddington_km  : each Eddington number E (km), first reached on the day of the E-th day with >= E km.
--   days_of_year  : distinct month-days (Feb 29 included) with a run across all years: 100, 200, 300, 365, 366.
-- Distance, Eddington and calendar milestones read run_days (runs only: an override counts for a streak, never
-- as distance run). Set-based: one pass over the days, one over the streaks (about the cost of run_days plus
-- streak_analysis); nothing per day is recomputed per milestone.

-- The thresholds, one list each (the view and the card's "next milestone" query read them).
CREATE OR REPLACE MACRO milestone_streak_days() AS TABLE
    SELECT t.n
    FROM (VALUES (100), (365), (500), (1000), (2000), (5000), (10000), (15000), (20000)) AS t (n);

CREATE OR REPLACE MACRO milestone_lifetime_km() AS TABLE
    SELECT
        t.km,
        format('{:,} km', t.km) || coalesce(' (' || t.name || ')', '') AS label  -- noqa: RF04
    FROM (
        VALUES
        (1000, NULL),
        (5000, NULL),
        (10000, NULL),
        (20000, NULL),
        (25000, NULL),
        (40075, 'around the Earth'),
        (50000, NULL),
        (100000, NULL),
        (384400, 'to the Moon')
    ) AS t (km, name);

-- asset: Milestones over the whole history (streak days and years, lifetime km, Eddington, days of the year).
CREATE OR REPLACE VIEW milestones AS
WITH days AS MATERIALIZED (
    SELECT
        day,
        total_km_exact
    FROM run_days
    WHERE day <= runner_today()
),

all_streaks AS (
    SELECT
        start_date,
        end_date,
        days,
        years
    FROM streaks_through(runner_today(), (SELECT min_km FROM streak_rule), (SELECT mode FROM streak_rule))
    WHERE days >= 100 OR years >= 1
),

streak_day_milestones AS (
    SELECT
        'streak_days'                           AS kind,
        1                                       AS kind_order,
        format('{:,} days', t.n)                AS label,  -- noqa: RF04
        t.n                                     AS threshold,
        s.start_date + CAST(t.n - 1 AS INTEGER) AS reached_on,
        s.start_date                            AS streak_start,
        s.end_date                              AS streak_end,
        CAST(NULL AS DOUBLE)                    AS lifetime_km
    FROM all_streaks AS s
    INNER JOIN milestone_streak_days() AS t ON s.days >= t.n
),

year_numbers AS (
    SELECT
        s.start_date,
        s.end_date,
        unnest(range(1, s.years + 1)) AS n
    FROM all_streaks AS s
    WHERE s.years >= 1
),

streak_year_milestones AS (
    SELECT
        'streak_years'                                                         AS kind,
        2                                                                      AS kind_order,
        format('{:,} {}', y.n, CASE WHEN y.n = 1 THEN 'year' ELSE 'years' END) AS label,  -- noqa: RF04
        y.n                                                                    AS threshold,
        streak_anniversary(y.start_date, y.n) - 1                              AS reached_on,
        y.start_date                                                           AS streak_start,
        y.end_date                                                             AS streak_end,
        CAST(NULL AS DOUBLE)                                                   AS lifetime_km
    FROM year_numbers AS y
),

cumulative AS (
    SELECT
        day,
        sum(total_km_exact) OVER (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS km_so_far
    FROM days
),

distance_milestones AS (
    SELECT
        'lifetime_km'                               AS kind,
        3                                           AS kind_order,
        t.label,
        t.km                                        AS threshold,
        min(c.day)                                  AS reached_on,
        CAST(NULL AS DATE)                          AS streak_start,
        CAST(NULL AS DATE)                          AS streak_end,
        CAST(arg_min(c.km_so_far, c.day) AS DOUBLE) AS lifetime_km
    FROM milestone_lifetime_km() AS t
    INNER JOIN cumulative AS c ON t.km <= c.km_so_far
    GROUP BY t.km, t.label
),

ranked AS (
    -- the final Eddington number caps the steps: E is the last rank (longest day first) still reaching E km
    SELECT
        total_km_exact,
        row_number() OVER (ORDER BY total_km_exact DESC) AS day_rank
    FROM days
),

final_number AS (
    SELECT coalesce(max(day_rank) FILTER (WHERE total_km_exact >= day_rank), 0) AS e
    FROM ranked
),

steps AS (
    SELECT unnest(range(1, f.e + 1)) AS e
    FROM final_number AS f
),

eddington_milestones AS (
    -- E is reached on the E-th day (in date order) with at least E km: the last of the E earliest such days
    -- (min(day, n) keeps the n smallest; n is the group key, so one value per group)
    SELECT
        'eddington_km'                     AS kind,
        4                                  AS kind_order,
        format('Eddington number {}', s.e) AS label,  -- noqa: RF04
        s.e                                AS threshold,
        list_last(min(d.day, s.e))         AS reached_on,
        CAST(NULL AS DATE)                 AS streak_start,
        CAST(NULL AS DATE)                 AS streak_end,
        CAST(NULL AS DOUBLE)               AS lifetime_km
    FROM steps AS s
    INNER JOIN days AS d ON s.e <= d.total_km_exact
    GROUP BY s.e
),

first_dates AS (
    -- the first day each month-day had a run, numbered in date order: the n-th is when n dates were covered
    SELECT
        min(day)                              AS first_day,
        row_number() OVER (ORDER BY min(day)) AS covered
    FROM days
    GROUP BY month(day), day(day)
),

calendar_milestones AS (
    SELECT
        'days_of_year'             AS kind,
        5                          AS kind_order,
        CASE
            WHEN f.covered = 366 THEN 'all 366 days of the year (Feb 29 included)'
            ELSE format('{} days of the year', f.covered)
        END                        AS label,  -- noqa: RF04
        CAST(f.covered AS INTEGER) AS threshold,
        f.first_day                AS reached_on,
        CAST(NULL AS DATE)         AS streak_start,
        CAST(NULL AS DATE)         AS streak_end,
        CAST(NULL AS DOUBLE)       AS lifetime_km
    FROM first_dates AS f
    WHERE f.covered IN (100, 200, 300, 365, 366)
),

everything AS (
    SELECT * FROM streak_day_milestones
    UNION ALL BY NAME
    SELECT * FROM streak_year_milestones
    UNION ALL BY NAME
    SELECT * FROM distance_milestones
    UNION ALL BY NAME
    SELECT * FROM eddington_milestones
    UNION ALL BY NAME
    SELECT * FROM calendar_milestones
)

SELECT
    kind,
    label,
    CAST(threshold AS INTEGER) AS threshold,
    reached_on,
    streak_start,
    streak_end,
    lifetime_km
FROM everything
ORDER BY reached_on, kind_order, threshold;
