-- distance_trends as of the runner's today: the last row on or before it.
SELECT * FROM distance_trends
WHERE day <= $today
ORDER BY day DESC
LIMIT 1;
