-- Counts for the detail_fetch_failures check: failing detail ids of live runs, as the fetch queue sees them (a
-- run edited upstream after it last failed is due again, neither waiting nor given up). One row: failures (all),
-- backing_off (not given up: retried in a later run), waiting (of those, not due yet at $now: outside the queue),
-- given_up (no more attempts unless the run is edited upstream) and the given-up ids, newest failures first.
WITH failing AS (
    SELECT
        failure.activity_id,
        failure.last_failed_at,
        failure.next_attempt_at,
        failure.gave_up,
        coalesce(runs.updated_at_utc > failure.last_failed_at, FALSE) AS edited_since
    FROM detail_failures AS failure
    INNER JOIN runs ON failure.activity_id = runs.activity_id
    WHERE NOT runs.deleted AND runs.has_details
)

SELECT
    count(*)                                                                            AS failures,
    count(*) FILTER (WHERE NOT gave_up OR edited_since)                                 AS backing_off,
    count(*) FILTER (WHERE NOT gave_up AND NOT edited_since AND next_attempt_at > $now) AS waiting,
    count(*) FILTER (WHERE gave_up AND NOT edited_since)                                AS given_up,
    coalesce(
        list(activity_id ORDER BY last_failed_at DESC, activity_id DESC) FILTER (WHERE gave_up AND NOT edited_since),
        []
    )[1:20]                                                                             AS given_up_ids
FROM failing;
