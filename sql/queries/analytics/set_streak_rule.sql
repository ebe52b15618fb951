-- $min_km, $mode, $time_zone: replace the one-row rule (validated in Python and by the table's CHECKs).
INSERT OR REPLACE INTO streak_rule (id, min_km, mode, time_zone, updated_at)
VALUES (1, $min_km, $mode, $time_zone, now()::TIMESTAMP);
