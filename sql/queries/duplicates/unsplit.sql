-- Forget the splits involving $activity_id: the same-run rule decides about those pairs again.
DELETE FROM duplicate_splits
WHERE $activity_id IN (activity_id, other_activity_id)
RETURNING activity_id, other_activity_id;
