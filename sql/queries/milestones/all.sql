-- Every milestone reached (the milestones view), in the order they were reached.
SELECT
    kind,
    label,
    threshold,
    reached_on,
    streak_start,
    streak_end,
    lifetime_km
FROM milestones
ORDER BY reached_on, kind, threshold;
