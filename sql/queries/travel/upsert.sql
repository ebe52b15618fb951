-- Set (or replace) a travel day: on $day runs count by the calendar of $zone (the Washburne rule).
INSERT OR REPLACE INTO travel_days (day, zone, side, reason, set_by, set_at)
VALUES ($day, $zone, $side, $reason, $who, $at);
