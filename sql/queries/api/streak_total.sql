-- How many streaks through the runner's today reach $min_days (for an empty page past the end).
SELECT count(*) AS total
FROM streaks_through($today, $min_km, $mode)
WHERE days >= $min_days;
