-- Raw landing: the payload as received, one row per (activity, kind). Only winning payloads (staged_winners,
-- see staged_verdicts.sql) replace the stored one, so a stale payload never overwrites a newer raw payload
-- (in particular a stale detail never replaces the stored 'detail' payload, which the detail queue compares
-- with the run's stamp), and a no-op re-run leaves fetched_at alone.
INSERT OR REPLACE INTO raw_activities (activity_id, payload_kind, payload, updated_at_utc, fetched_at, payload_sha256)
SELECT
    s.activity_id,
    $payload_kind,
    CAST(s.payload AS JSON) AS payload,
    s.updated_at_utc,
    $fetched_at,
    sha256(s.payload)       AS payload_sha256
FROM staged_raw AS s
WHERE s.activity_id IN (SELECT w.activity_id FROM staged_winners AS w);
