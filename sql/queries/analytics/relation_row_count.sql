-- Row count of one view or table named by $relation (query_table resolves the name; no SQL is built in Python).
SELECT count(*) AS row_count FROM query_table($relation);
