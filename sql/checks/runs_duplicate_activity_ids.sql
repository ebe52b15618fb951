-- Check: every activity id appears once in runs (guards the upsert key even if a table lost its PRIMARY KEY,
-- e.g. one created by an older tool). Returns one row (failures, sample).
SELECT
    count(*)                                    AS failures,
    list(activity_id ORDER BY activity_id)[1:5] AS sample
FROM (
    SELECT activity_id FROM runs
    GROUP BY activity_id
    HAVING count(*) > 1
) AS duplicated;
