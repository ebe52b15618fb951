-- The query API's /v1/health: schema version, live runs, when the pipeline last stored a sync cursor.
SELECT
    (SELECT coalesce(max(version), 0) FROM schema_version) AS schema_version,
    (
        SELECT count(*) FROM runs
        WHERE NOT deleted
    )                                                      AS runs,
    (SELECT max(updated_at) FROM sync_state)               AS last_sync_utc;
