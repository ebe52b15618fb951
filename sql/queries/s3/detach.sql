-- Drop the attached S3 database (if any) before attaching another version of it.
-- (sqlfluff's duckdb grammar has no DETACH, hence the noqa.)
USE memory;
DETACH DATABASE IF EXISTS db;  -- noqa: PRS
