-- The personal_records view as it is (one row per record, in the view's order).
SELECT
    record,
    value,
    unit,
    start_date,
    end_date,
    activity_id
FROM personal_records;
