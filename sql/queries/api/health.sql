-- The query API's /v1/health: schema version, live runs, when the pipeline last stored a sync cursor.
-- `runs` counts what /v1/runs lists: live records (not deleted upstream), every sport, a run recorded by two
-- sources once (the records merged away in run_duplicates are not counted).
SELECT
    (SELECT coalesce(max(version), 0) FROM schema_version) AS schema_version,
    (
        SELECT count(*) FROM runs AS r
        WHERE
            NOT r.deleted
            AND NOT EXISTS (
                SELECT 1 FROM run_duplicates AS d
                WHERE d.activity_id = r.activity_id
            )
    )                                                      AS runs,
    (SELECT max(updated_at) FROM sync_state)               AS last_sync_utc;
