-- Settings of the S3 reader's in-memory DuckDB. No external file cache: a re-attached object must be read
-- afresh, never partly from blocks cached for the version it replaced.
SET enable_external_file_cache = FALSE;
