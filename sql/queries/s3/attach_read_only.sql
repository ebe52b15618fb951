-- ATTACH does not accept bound parameters, so {database_literal} is filled with an escaped SQL string
-- literal of the s3:// URI (no credentials: those live in the secret). Read-only: httpfs cannot write.
ATTACH {database_literal} AS db (READ_ONLY);
USE db;
