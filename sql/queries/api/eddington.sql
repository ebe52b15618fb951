-- The eddington view: one row per unit ('km', 'mi').
SELECT
    unit,
    eddington_number,
    next_number,
    days_needed_for_next
FROM eddington
ORDER BY unit;
