-- The detail-fetch queue: live runs that have recordings, whose detail payload is missing or older than the
-- run's latest summary (dateUpdatedUTC); newest runs first. queue_length counts the whole queue (the window
-- is evaluated before LIMIT), so one query serves both the ids and the count.
SELECT
    runs.activity_id,
    count(*) OVER () AS queue_length
FROM runs
LEFT JOIN raw_activities AS detail
    ON runs.activity_id = detail.activity_id AND detail.payload_kind = 'detail'
WHERE
    NOT runs.deleted
    AND runs.has_details
    AND (
        detail.activity_id IS NULL
        OR (
            runs.updated_at_utc IS NOT NULL
            AND (detail.updated_at_utc IS NULL OR detail.updated_at_utc < runs.updated_at_utc)
        )
    )
ORDER BY runs.start_time_utc DESC, runs.activity_id DESC
LIMIT $limit;
