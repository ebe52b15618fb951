SELECT activity_id FROM runs
WHERE $include_deleted OR NOT deleted;
