-- The duplicate decisions about $activity_ids: (activity id, the kept record's id, the kept record's source).
SELECT
    d.activity_id,
    d.kept_activity_id,
    k.data_source AS kept_source
FROM run_duplicates AS d
INNER JOIN runs AS k ON d.kept_activity_id = k.activity_id
WHERE list_contains($activity_ids, d.activity_id);  -- noqa: RF02
