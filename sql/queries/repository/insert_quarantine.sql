-- Invalid payloads, kept as received with the reason (field paths and messages only, never input values).
-- A payload already quarantined with the same reason is not added again, so retries stay idempotent.
INSERT INTO quarantine (activity_id, payload_kind, payload, reason, quarantined_at)
SELECT
    s.activity_id,
    $payload_kind,
    s.payload,
    s.reason,
    $quarantined_at
FROM staged_quarantine AS s
WHERE NOT EXISTS (
    SELECT 1 FROM quarantine AS q
    WHERE q.payload_kind = $payload_kind AND q.payload = s.payload AND q.reason = s.reason
);
