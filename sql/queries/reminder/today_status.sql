-- The reminder's view of the runner's local day $today under the rule ($min_km, $mode): the current streak as
-- the database sees it, and whether the day qualifies once the runs SmashRun lists for it that the database
-- does not hold yet are added. Those runs come as parallel lists ($pending_ids, $pending_km, $pending_sports);
-- one the database already holds (any row of runs, by activity id) is counted once, as stored. Sports follow
-- counted_runs (the rule's sports; rides and swims never). 'sum': the day's total plus theirs reaches $min_km;
-- 'strict': the day's longest run, or one of theirs, reaches it alone.
WITH streak AS (
    SELECT
        status,
        days
    FROM current_streak_as_of($today, $min_km, $mode)
),

stored_today AS (
    SELECT
        total_km_exact,
        longest_run_km_exact
    FROM run_days_judged($min_km, $mode)
    WHERE day = CAST($today AS DATE)
),

listed AS (
    SELECT
        unnest(CAST($pending_ids AS VARCHAR[]))    AS activity_id,
        unnest(CAST($pending_km AS DOUBLE[]))      AS km,
        unnest(CAST($pending_sports AS VARCHAR[])) AS sport
),

pending AS (
    SELECT DISTINCT ON (l.activity_id)
        l.activity_id,
        CAST(l.km AS DECIMAL(18, 9)) AS km
    FROM listed AS l
    WHERE
        NOT EXISTS (
            SELECT 1 FROM runs AS r
            WHERE r.activity_id = l.activity_id
        )
        AND coalesce(nullif(l.sport, 'unknown'), 'running') NOT IN ('cycling', 'swimming')
        AND list_contains(
            coalesce((SELECT any_value(sr.sports) FROM streak_rule AS sr), ['running']),
            coalesce(nullif(l.sport, 'unknown'), 'running')
        )
),

totals AS (
    SELECT
        coalesce((SELECT any_value(t.total_km_exact) FROM stored_today AS t), 0)       AS stored_km,
        coalesce((SELECT any_value(t.longest_run_km_exact) FROM stored_today AS t), 0) AS stored_longest_km,
        coalesce((SELECT sum(p.km) FROM pending AS p), 0)                              AS pending_km,
        coalesce((SELECT max(p.km) FROM pending AS p), 0)                              AS pending_longest_km,
        (SELECT count(*) FROM pending)                                                 AS pending_runs,
        CAST($min_km AS DECIMAL(18, 9))                                                AS threshold_km
)

SELECT
    s.status,
    s.days,
    CAST(t.stored_km AS DOUBLE)                AS stored_km,
    CAST(t.pending_km AS DOUBLE)               AS pending_km,
    t.pending_runs,
    CAST(t.stored_km + t.pending_km AS DOUBLE) AS today_km,
    CASE
        WHEN $mode = 'strict' THEN greatest(t.stored_longest_km, t.pending_longest_km) >= t.threshold_km
        ELSE t.stored_km + t.pending_km >= t.threshold_km
    END                                        AS qualifies,
    CAST(CASE
        WHEN $mode = 'strict' AND greatest(t.stored_longest_km, t.pending_longest_km) >= t.threshold_km THEN 0
        WHEN $mode = 'strict' THEN t.threshold_km
        ELSE greatest(t.threshold_km - t.stored_km - t.pending_km, 0)
    END AS DOUBLE)                             AS needed_km
FROM streak AS s
CROSS JOIN totals AS t;
