-- Analytics, part 6: the Eddington number E (the largest E with at least E days of >= E units), per unit,
-- from daily totals, with the days still needed for E + 1. Compared exactly in decimal km.

-- asset: The Eddington number (km and miles).
CREATE OR REPLACE VIEW eddington AS
WITH units AS (
    SELECT
        u.unit,
        u.km_per_unit
    FROM (VALUES ('km', CAST(1 AS DECIMAL(18, 9))), ('mi', CAST(1.609344 AS DECIMAL(18, 9))))
        AS u (unit, km_per_unit)
),

ranked AS (
    -- rank days by distance, longest first; E is the last rank whose day still reaches `rank` units
    SELECT
        u.unit,
        u.km_per_unit,
        d.total_km_exact,
        row_number() OVER (PARTITION BY u.unit ORDER BY d.total_km_exact DESC) AS day_rank
    FROM units AS u CROSS JOIN run_days AS d
),

numbers AS (
    SELECT
        u.unit,
        u.km_per_unit,
        coalesce(max(r.day_rank) FILTER (WHERE r.total_km_exact >= r.day_rank * r.km_per_unit), 0)
            AS eddington_number
    FROM units AS u LEFT JOIN ranked AS r ON u.unit = r.unit
    GROUP BY u.unit, u.km_per_unit
)

SELECT
    n.unit,
    CAST(n.eddington_number AS INTEGER)                    AS eddington_number,
    CAST(n.eddington_number + 1 AS INTEGER)                AS next_number,
    CAST(count(d.day) AS INTEGER)                          AS days_at_next,
    CAST(n.eddington_number + 1 - count(d.day) AS INTEGER) AS days_needed_for_next
FROM numbers AS n
LEFT JOIN run_days AS d ON d.total_km_exact >= (n.eddington_number + 1) * n.km_per_unit
GROUP BY n.unit, n.eddington_number
ORDER BY n.unit;
