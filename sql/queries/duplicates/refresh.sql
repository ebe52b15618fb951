-- The same-run rule, v1: a record from a file and another live record are ONE run when their UTC starts are at
-- most 300 s apart AND their distances differ by at most 5 % of the longer (both bounds inclusive). Two SmashRun
-- records are never merged (SmashRun lists them as two runs), nor a pair the runner split (duplicate_splits).
-- The record kept is the best source: SmashRun (the runner's primary, edited record), then FIT (the device's own
-- data), TCX, GPX; between equals the smaller activity id. So the record not counted is always a file, and it
-- points at the best record it matches (the nearest start among equals).
-- Recomputed whole in every write's transaction: the same tables whatever the load order; decided_at is kept
-- while a decision (and its figures) stands. $decided_at: now.
MERGE INTO run_duplicates AS t
USING (
    WITH live AS (
        SELECT
            activity_id,
            data_source,
            start_time_utc,
            distance_km,
            CASE data_source WHEN 'smashrun' THEN 0 WHEN 'fit' THEN 1 WHEN 'tcx' THEN 2 WHEN 'gpx' THEN 3 ELSE 4 END
                AS source_rank,
            -- 300 s buckets: two starts at most 300 s apart are in the same or adjacent buckets, so the pairs come
            -- from an equality (hash) join instead of a range join (measured: 650 ms -> ms at 20,000 runs)
            CAST(floor(epoch(start_time_utc) / 300) AS BIGINT) AS start_bucket
        FROM runs
        WHERE NOT deleted
    ),

    files AS (  -- the record not counted is always a file's: each probes its own and both neighbouring buckets
        SELECT
            *,
            unnest([start_bucket - 1, start_bucket, start_bucket + 1]) AS probe_bucket
        FROM live
        WHERE data_source <> 'smashrun'
    ),

    candidates AS (
        SELECT
            d.activity_id,
            k.activity_id                                                                     AS kept_activity_id,
            k.data_source                                                                     AS kept_source,
            d.data_source                                                                     AS dropped_source,
            k.source_rank                                                                     AS kept_rank,
            abs(epoch(d.start_time_utc) - epoch(k.start_time_utc))                            AS start_gap_seconds,
            abs(d.distance_km - k.distance_km) * 100 / greatest(d.distance_km, k.distance_km) AS distance_gap_percent
        FROM files AS d
        INNER JOIN live AS k ON d.probe_bucket = k.start_bucket
        WHERE
            k.start_time_utc >= d.start_time_utc - INTERVAL 300 SECOND
            AND k.start_time_utc <= d.start_time_utc + INTERVAL 300 SECOND
            AND (k.source_rank, k.activity_id) < (d.source_rank, d.activity_id)
            -- multiplied out, with 1 µm of slack (1e-7 here): decimal km are inexact in binary, and 5 % of a
            -- distance must stay inside the rule (0.95 * 2.15367 km reads as 2.0459864999999997)
            AND abs(d.distance_km - k.distance_km) * 100 <= 5 * greatest(d.distance_km, k.distance_km) + 1e-7
            AND NOT EXISTS (
                SELECT 1 FROM duplicate_splits AS s
                WHERE
                    s.activity_id = least(d.activity_id, k.activity_id)
                    AND s.other_activity_id = greatest(d.activity_id, k.activity_id)
            )
        QUALIFY
            row_number() OVER (
                PARTITION BY d.activity_id ORDER BY k.source_rank, start_gap_seconds, k.activity_id
            ) = 1
    )

    SELECT
        activity_id,
        kept_activity_id,
        'same_run_v1: starts at most 300 s apart, distances within 5 %' AS rule,  -- noqa: RF04
        'same run as ' || kept_activity_id || ' (' || kept_source || '): starts '
        || CAST(round(start_gap_seconds) AS BIGINT) || ' s apart, distances '
        || printf('%.1f', distance_gap_percent) || ' % apart; kept '
        || CASE
            WHEN kept_source = 'smashrun' THEN 'the SmashRun record (the primary source)'
            WHEN kept_source = dropped_source THEN 'the smaller activity id of two ' || kept_source || ' files'
            ELSE 'the ' || kept_source || ' file (ranked above ' || dropped_source || ')'
        END                                                             AS reason,
        start_gap_seconds,
        distance_gap_percent
    FROM candidates
) AS s
    ON t.activity_id = s.activity_id
WHEN MATCHED AND (
    t.kept_activity_id <> s.kept_activity_id
    OR t.reason <> s.reason
    OR t.start_gap_seconds <> s.start_gap_seconds
    OR t.distance_gap_percent <> s.distance_gap_percent
) THEN
    UPDATE
        SET
            kept_activity_id = s.kept_activity_id,
            rule = s.rule,
            reason = s.reason,
            start_gap_seconds = s.start_gap_seconds,
            distance_gap_percent = s.distance_gap_percent,
            decided_at = $decided_at
WHEN NOT MATCHED THEN
    INSERT (
        activity_id, kept_activity_id, rule, reason, start_gap_seconds, distance_gap_percent, decided_at
    ) VALUES (
        s.activity_id, s.kept_activity_id, s.rule, s.reason, s.start_gap_seconds, s.distance_gap_percent, $decided_at
    )
WHEN NOT MATCHED BY SOURCE THEN DELETE;
