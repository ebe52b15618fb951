-- The imported files (registered Arrow table staged_files) whose run was stored: a file whose payload was
-- quarantined gets no row, so importing it again tries again (and finds the same reason).
INSERT INTO activity_files BY NAME
SELECT
    f.*,
    $imported_at AS imported_at  -- noqa: AL09
FROM staged_files AS f
WHERE f.activity_id IN (SELECT r.activity_id FROM runs AS r)
ON CONFLICT DO NOTHING;
