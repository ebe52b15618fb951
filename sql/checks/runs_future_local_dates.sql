-- Check: no run is dated after the latest plausible local date ($latest_date = the runner's today + 1 day,
-- because a run's own time zone may be ahead of the runner's). Returns one row (failures, sample).
SELECT
    count(*)                                                                                 AS failures,
    list(activity_id || ' on ' || CAST(start_date AS VARCHAR) ORDER BY start_date DESC)[1:5] AS sample
FROM runs
WHERE NOT deleted AND start_date > $latest_date;
