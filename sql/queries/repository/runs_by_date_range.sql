-- Live runs whose LOCAL date is within [$start_date, $end_date] (both inclusive), in start order.
SELECT * FROM runs
WHERE NOT deleted AND start_date BETWEEN $start_date AND $end_date
ORDER BY start_time_utc, activity_id;
