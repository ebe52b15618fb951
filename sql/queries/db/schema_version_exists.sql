-- Whether the migration bookkeeping table exists yet (a brand-new database has none).
SELECT count(*) > 0 FROM duckdb_tables()
WHERE schema_name = 'main' AND table_name = 'schema_version';
