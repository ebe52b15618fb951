-- The Lambda handler's S3 reader: DuckDB spills to this directory (under /tmp, the only writable place on
-- Lambda) instead of `.tmp` in the working directory (/var/task there, read-only).
SET temp_directory = $temp_directory;
