-- Columns of a table or view (for dagster/column_schema metadata), in declaration order.
SELECT
    column_name,
    data_type
FROM information_schema.columns
WHERE table_schema = 'main' AND table_name = $name
ORDER BY ordinal_position;
