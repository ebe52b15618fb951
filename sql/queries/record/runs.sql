-- The runs of the streak record: each counted run on each day it counts for from $first_day to $last_day (a run across
-- midnight twice when the rule counts it for both days), with its source, its own local start and UTC offset, and
-- the zone that dated it.
SELECT
    day,
    activity_id,
    data_source           AS source,
    start_date_time_local AS start_local,
    utc_offset_minutes,
    distance_km           AS km,
    zone_used,
    is_primary
FROM run_day_attribution
WHERE day BETWEEN $first_day AND $last_day
ORDER BY day, start_date_time_local, activity_id;
