-- Every streak through the runner's today under the given rule, longest first (ties: the more recent first),
-- with its distance; one page of them plus the total count.
WITH spans AS (
    SELECT
        streak_rank,
        start_date,
        end_date,
        days,
        years_days
    FROM streaks_through($today, $min_km, $mode)
    WHERE days >= $min_days
),

page AS (
    SELECT * FROM spans
    ORDER BY streak_rank
    LIMIT $limit OFFSET $skip
)

SELECT
    p.start_date                                       AS start,  -- noqa: RF04
    p.end_date                                         AS "end",
    p.days,
    p.years_days,
    CAST(coalesce(sum(d.total_km_exact), 0) AS DOUBLE) AS km,
    (SELECT count(*) FROM spans)                       AS total
FROM page AS p
LEFT JOIN run_days AS d ON d.day BETWEEN p.start_date AND p.end_date
GROUP BY p.streak_rank, p.start_date, p.end_date, p.days, p.years_days
ORDER BY p.streak_rank;
