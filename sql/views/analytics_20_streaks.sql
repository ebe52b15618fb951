-- Analytics, part 2: streaks (gaps and islands over qualifying days) and the current streak.
-- Set-based: one window pass over the qualifying days, no recursion, no per-day subqueries, no length cap.

-- Every streak made of qualifying days on or before `through` (later, future-dated days are ignored),
-- longest first; ties: the more recent first, so a current streak that equals the record is the record.
CREATE OR REPLACE MACRO streaks_through(through, min_km, mode) AS TABLE
    WITH islands AS (
        -- consecutive days share (day - its rank): the classic gaps-and-islands key
        SELECT
            day,
            date_diff('day', DATE '1970-01-01', day) - row_number() OVER (ORDER BY day) AS island
        FROM qualifying_days(min_km, mode)
        WHERE day <= CAST(through AS DATE)
    ),

    spans AS (
        SELECT
            min(day) AS start_date,
            max(day) AS end_date,
            count(*) AS days
        FROM islands
        GROUP BY island
    ),

    spans_years AS (
        SELECT
            *,
            streak_completed_years(start_date, end_date) AS years
        FROM spans
    ),

    spans_remainder AS (
        -- staged so the years+days macros expand once per column, not nested
        SELECT
            *,
            (end_date - streak_anniversary(start_date, years)) + 1 AS remainder_days
        FROM spans_years
    )

    SELECT
        row_number() OVER (ORDER BY days DESC, end_date DESC) AS streak_rank,
        start_date,
        end_date,
        days,
        years,
        remainder_days,
        format_years_days(years, remainder_days)              AS years_days
    FROM spans_remainder
    ORDER BY streak_rank;

CREATE OR REPLACE MACRO streaks(min_km, mode) AS TABLE
    SELECT * FROM streaks_through(DATE '9999-12-31', min_km, mode);

-- The current streak as of a local `today`: active (today qualifies), at_risk (yesterday qualifies, today not
-- yet: still alive) or broken (0 days, no dates). Always exactly one row. Also today's progress and what is
-- still needed today to keep the streak (0 once today qualifies).
CREATE OR REPLACE MACRO current_streak_as_of(today, min_km, mode) AS TABLE
    WITH rule_values AS (
        SELECT
            CAST(today AS DATE)            AS as_of,
            CAST(min_km AS DECIMAL(18, 9)) AS threshold_km,
            CAST(mode AS VARCHAR)          AS rule_mode
    ),

    latest AS (
        SELECT
            start_date,
            end_date,
            days,
            years_days
        FROM streaks_through(today, min_km, mode)
        ORDER BY end_date DESC
        LIMIT 1
    ),

    today_runs AS (
        SELECT
            a.total_km_exact,
            a.qualifies
        FROM run_days_judged(min_km, mode) AS a
        INNER JOIN rule_values AS r ON a.day = r.as_of
    ),

    status AS (
        SELECT
            r.*,
            CASE
                WHEN l.end_date = r.as_of THEN 'active'
                WHEN l.end_date = r.as_of - 1 THEN 'at_risk'
                ELSE 'broken'
            END AS status,
            l.start_date,
            l.end_date,
            l.days,
            l.years_days
        FROM rule_values AS r
        LEFT JOIN latest AS l ON TRUE
    )

    SELECT
        s.as_of,
        s.status,
        CASE WHEN s.status = 'broken' THEN 0 ELSE s.days END                      AS days,
        CASE WHEN s.status = 'broken' THEN NULL ELSE s.start_date END             AS start_date,
        CASE WHEN s.status = 'broken' THEN NULL ELSE s.end_date END               AS end_date,
        CASE WHEN s.status = 'broken' THEN '0 years 0 days' ELSE s.years_days END AS years_days,
        s.end_date                                                                AS last_qualifying_day,
        CAST(coalesce(t.total_km_exact, 0) AS DOUBLE)                             AS today_km,
        CAST(CASE
            WHEN coalesce(t.qualifies, FALSE) THEN 0
            WHEN s.rule_mode = 'sum' THEN s.threshold_km - coalesce(t.total_km_exact, 0)
            ELSE s.threshold_km  -- strict: one full run
        END AS DOUBLE)                                                            AS needed_today_km
    FROM status AS s
    LEFT JOIN today_runs AS t ON TRUE;

-- Plain views following the configured rule (table streak_rule, one row).
CREATE OR REPLACE VIEW streak_audit AS
SELECT *
FROM streak_day_audit((SELECT min_km FROM streak_rule), (SELECT mode FROM streak_rule));

-- asset: Every streak under the configured rule, longest first.
CREATE OR REPLACE VIEW streak_analysis AS
SELECT *
FROM streaks((SELECT min_km FROM streak_rule), (SELECT mode FROM streak_rule));

-- "today" = the runner's local date (runner_today(): the zone stored with the rule), not the machine's.
-- asset: The current streak as of today (local): active, at_risk or broken.
CREATE OR REPLACE VIEW current_streak AS
SELECT *
FROM current_streak_as_of(runner_today(), (SELECT min_km FROM streak_rule), (SELECT mode FROM streak_rule));
