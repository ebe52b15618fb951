-- Failing detail ids of live runs, given-up ones first, then the most recent failures; at most $limit rows.
-- given_up is gave_up as the queue sees it: a run edited upstream after it last failed is retried, not given up.
SELECT
    failure.activity_id,
    failure.attempts,
    failure.first_failed_at,
    failure.last_failed_at,
    failure.next_attempt_at,
    failure.last_reason,
    failure.gave_up AND NOT coalesce(runs.updated_at_utc > failure.last_failed_at, FALSE) AS given_up
FROM detail_failures AS failure
INNER JOIN runs ON failure.activity_id = runs.activity_id
WHERE NOT runs.deleted AND runs.has_details
ORDER BY given_up DESC, failure.last_failed_at DESC, failure.activity_id DESC
LIMIT $limit;
