-- Forget the failures of ids SmashRun answered for this run ($activity_ids: fetched, quarantined or 404), and
-- of runs that no longer need details at all (deleted upstream, without recordings, or gone from runs).
DELETE FROM detail_failures
WHERE
    activity_id IN (SELECT unnest($activity_ids::VARCHAR[]))
    OR activity_id NOT IN (
        SELECT runs.activity_id FROM runs
        WHERE NOT runs.deleted AND runs.has_details
    );
