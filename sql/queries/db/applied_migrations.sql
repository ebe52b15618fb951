-- Versions already applied, lowest first.
SELECT version FROM schema_version
ORDER BY version;
