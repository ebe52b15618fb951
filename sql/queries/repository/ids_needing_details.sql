-- The detail-fetch queue: live runs that have recordings, whose detail payload is missing or older than the
-- run's latest summary (dateUpdatedUTC), and whose last fetch did not fail recently: a run in detail_failures
-- waits for its next_attempt_at (exponential backoff) and a given-up run is skipped, unless the run was edited
-- upstream after it last failed (updated_at_utc > last_failed_at: a new version, tried again). Newest runs
-- first. queue_length counts the whole queue (the runs due now), so one query serves both the ids and the count.
-- It is a count over the CTE, not count(*) OVER (): DuckDB 1.5.5 intermittently failed that window
-- with "INTERNAL Error: Attempted to access index 0 within vector of size 0" (seen in CI and in a demo run),
-- which invalidates the whole database connection. Failure times are naive UTC, like now() taken in UTC here.
WITH queue AS (
    SELECT
        runs.activity_id,
        runs.start_time_utc
    FROM runs
    LEFT JOIN raw_activities AS detail
        ON runs.activity_id = detail.activity_id AND detail.payload_kind = 'detail'
    LEFT JOIN detail_failures AS failure
        ON runs.activity_id = failure.activity_id
    WHERE
        NOT runs.deleted
        AND runs.data_source = 'smashrun'  -- a file's run is stored whole: nothing to fetch
        AND runs.has_details
        AND (
            detail.activity_id IS NULL
            OR (
                runs.updated_at_utc IS NOT NULL
                AND (detail.updated_at_utc IS NULL OR detail.updated_at_utc < runs.updated_at_utc)
            )
        )
        AND (
            failure.activity_id IS NULL
            OR runs.updated_at_utc > failure.last_failed_at
            OR (NOT failure.gave_up AND failure.next_attempt_at <= timezone('UTC', now()))
        )
),

queue_size AS (
    SELECT count(*) AS queue_length FROM queue
)

SELECT
    queue.activity_id,
    queue_size.queue_length
FROM queue
CROSS JOIN queue_size
ORDER BY queue.start_time_utc DESC, queue.activity_id DESC
LIMIT $limit;
