-- The next milestone of the current streak ($streak_start .. $streak_end, both NULL when there is none) and of
-- the lifetime distance, as of the local $today, and when each falls if the streak holds:
--   * streak: the earliest of the next day count (start + N - 1) and the next completed year
--     (streak_anniversary(start, n) - 1) after $streak_end; on a tie the year wins ("1 year", not "365 days");
--   * distance: the next threshold above the distance run through $today, projected at the average daily km
--     of the 28 days ending $today (counting from the day after $today); no date when that average is 0.
WITH bounds AS (
    SELECT
        CAST($today AS DATE)        AS today,
        CAST($streak_start AS DATE) AS streak_start,
        CAST($streak_end AS DATE)   AS streak_end
),

completed AS (
    SELECT
        b.*,
        streak_completed_years(b.streak_start, b.streak_end) AS years
    FROM bounds AS b
    WHERE b.streak_start IS NOT NULL
),

streak_candidates AS (
    SELECT
        'streak_days'                             AS kind,
        format('{:,} days', t.n)                  AS label,  -- noqa: RF04
        t.n                                       AS threshold,
        c.streak_start + CAST(t.n - 1 AS INTEGER) AS falls_on,
        1                                         AS tie_order
    FROM completed AS c
    CROSS JOIN milestone_streak_days() AS t
    WHERE c.streak_start + CAST(t.n - 1 AS INTEGER) > c.streak_end
    UNION ALL
    SELECT
        'streak_years'                                                                     AS kind,
        format('{:,} {}', c.years + 1, CASE WHEN c.years = 0 THEN 'year' ELSE 'years' END) AS label,  -- noqa: RF04
        c.years + 1                                                                        AS threshold,
        streak_anniversary(c.streak_start, c.years + 1) - 1                                AS falls_on,
        0                                                                                  AS tie_order
    FROM completed AS c
),

next_streak AS (
    SELECT *
    FROM streak_candidates
    ORDER BY falls_on, tie_order
    LIMIT 1
),

distance AS (
    SELECT
        coalesce(sum(d.total_km_exact), 0)                                          AS lifetime_km,
        coalesce(sum(d.total_km_exact) FILTER (WHERE d.day > b.today - 28), 0) / 28 AS average_km
    FROM bounds AS b
    LEFT JOIN run_days AS d ON b.today >= d.day
),

next_distance AS (
    SELECT
        t.label,
        t.km                 AS threshold,
        d.lifetime_km,
        d.average_km,
        t.km - d.lifetime_km AS km_to_go,
        CASE
            WHEN d.average_km > 0 THEN b.today + CAST(ceil((t.km - d.lifetime_km) / d.average_km) AS INTEGER)
        END                  AS falls_on
    FROM distance AS d
    CROSS JOIN bounds AS b
    INNER JOIN milestone_lifetime_km() AS t ON d.lifetime_km < t.km
    ORDER BY t.km
    LIMIT 1
)

SELECT
    s.kind                        AS streak_kind,
    s.label                       AS streak_label,
    s.threshold                   AS streak_threshold,
    s.falls_on                    AS streak_falls_on,
    n.label                       AS distance_label,
    n.threshold                   AS distance_threshold,
    CAST(n.km_to_go AS DOUBLE)    AS distance_km_to_go,
    n.falls_on                    AS distance_falls_on,
    CAST(d.lifetime_km AS DOUBLE) AS lifetime_km,
    CAST(d.average_km AS DOUBLE)  AS average_km_28_days
FROM distance AS d
LEFT JOIN next_streak AS s ON TRUE
LEFT JOIN next_distance AS n ON TRUE;
