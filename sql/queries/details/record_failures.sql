-- Record this run's failed detail fetches at $now (naive UTC), set-based: $activity_ids and $reasons are
-- parallel lists. A first failure, or the first since the run was edited upstream (updated_at_utc >
-- last_failed_at), is attempt 1; otherwise attempts + 1. The next attempt waits $base_seconds * 2^(attempts - 1),
-- capped at $cap_seconds; the attempt that reaches $max_attempts gives the id up (until an upstream edit).
INSERT INTO detail_failures
(activity_id, attempts, first_failed_at, last_failed_at, next_attempt_at, last_reason, gave_up)
WITH batch AS (
    SELECT DISTINCT ON (activity_id)
        unnest($activity_ids::VARCHAR[]) AS activity_id,
        unnest($reasons::VARCHAR[])      AS reason
),

counted AS (
    SELECT
        batch.activity_id,
        batch.reason,
        earlier.attempts                                              AS earlier_attempts,
        earlier.first_failed_at                                       AS earlier_first_failed_at,
        earlier.activity_id IS NULL                                   AS first_failure,
        coalesce(runs.updated_at_utc > earlier.last_failed_at, FALSE) AS edited_since
    FROM batch
    LEFT JOIN detail_failures AS earlier ON batch.activity_id = earlier.activity_id
    LEFT JOIN runs ON batch.activity_id = runs.activity_id
),

attempted AS (
    SELECT
        activity_id,
        reason,
        CASE WHEN first_failure OR edited_since THEN 1 ELSE earlier_attempts + 1 END       AS attempts,
        CASE WHEN first_failure OR edited_since THEN $now ELSE earlier_first_failed_at END AS first_failed_at
    FROM counted
)

SELECT
    activity_id,
    attempts,
    first_failed_at,
    $now                                                                                    AS last_failed_at,
    $now + to_seconds(least($cap_seconds, $base_seconds * pow(2, least(attempts - 1, 40)))) AS next_attempt_at,
    reason                                                                                  AS last_reason,
    attempts >= $max_attempts                                                               AS gave_up
FROM attempted
ON CONFLICT (activity_id) DO UPDATE SET
    attempts = excluded.attempts,
    first_failed_at = excluded.first_failed_at,
    last_failed_at = excluded.last_failed_at,
    next_attempt_at = excluded.next_attempt_at,
    last_reason = excluded.last_reason,
    gave_up = excluded.gave_up;
