-- $min_km, $mode, $time_zone, $sports, $day_policy, $midnight_both_days: replace the one-row rule (validated in
-- Python and by the table's CHECKs).
INSERT OR REPLACE INTO streak_rule (id, min_km, mode, time_zone, sports, day_policy, midnight_both_days, updated_at)
VALUES (1, $min_km, $mode, $time_zone, $sports, $day_policy, $midnight_both_days, now()::TIMESTAMP);
