-- The streak record: every day from $first_day to $last_day under the rule ($min_km, $mode), with the day's total
-- (runs and override), both rule checks, the override (if any: distance, reason, who, when) and the zone(s) that
-- dated its runs ('no run: override only' for a day that has none).
WITH zones AS (
    SELECT
        day,
        string_agg(DISTINCT zone_used, '; ' ORDER BY zone_used) AS zones
    FROM run_day_attribution
    WHERE day BETWEEN $first_day AND $last_day
    GROUP BY day
)

SELECT
    d.day,
    CAST(d.total_km_exact AS DOUBLE)           AS km,
    CAST(d.runs_km_exact AS DOUBLE)            AS runs_km,
    d.run_count,
    d.qualifies,
    d.sum_qualifies,
    d.strict_qualifies,
    d.rests_on_override,
    d.override_km,
    d.override_reason,
    o.added_by                                 AS override_by,
    o.added_at                                 AS override_at,
    coalesce(z.zones, 'no run: override only') AS zone_used
FROM run_days_judged($min_km, $mode) AS d
LEFT JOIN day_overrides AS o ON d.day = o.day
LEFT JOIN zones AS z ON d.day = z.day
WHERE d.day BETWEEN $first_day AND $last_day
ORDER BY d.day;
