SELECT count(*) FROM runs
WHERE NOT deleted;
