-- Raw landing: the payload as received, one row per (activity, kind); a newer fetch replaces the older one.
INSERT OR REPLACE INTO raw_activities (activity_id, payload_kind, payload, updated_at_utc, fetched_at)
SELECT
    activity_id,
    $payload_kind,
    CAST(payload AS JSON) AS payload,
    updated_at_utc,
    $fetched_at
FROM staged_raw;
