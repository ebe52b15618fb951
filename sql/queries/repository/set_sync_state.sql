-- Sync cursors, written in the same transaction as the data they describe.
INSERT INTO sync_state (key, value, updated_at)
SELECT
    key,
    value,
    now()::TIMESTAMP AS updated_at
FROM staged_sync_state
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;
