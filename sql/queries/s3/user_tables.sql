-- The user tables of the current database (the sanity check counts the rows of each before a publish).
SELECT
    schema_name,
    table_name
FROM duckdb_tables()
WHERE database_name = current_database() AND NOT temporary
ORDER BY schema_name, table_name;
