-- Monotonic updates: which staged payloads (staged_raw, one row per activity id after the batch's own
-- de-duplication) may replace what is stored, decided BEFORE anything is written, for the whole batch at once.
-- A stored activity is replaced only by a newer version, so a slow writer, an S3 conflict retry or a
-- schedule/sensor race replaying an older listing can never undo an edit, and the order in which batches,
-- partitions and runs land does not change the result. The stamp is SmashRun's dateUpdatedUTC (updated_at_utc;
-- every edit, delete and undelete bumps it):
--   * unknown id                                    -> inserted;
--   * stamped payload over an unstamped stored run  -> applied;
--   * stamp newer than the stored run's             -> applied;
--   * equal stamp, 'detail' payload                 -> applied (the full activity of the version stored from its
--     summary adds laps, recording and extended fields), unless the stored detail payload is that very payload
--     (same stamp, same text): a re-run is then a no-op and leaves every row, load timestamps included, as is;
--   * equal stamp, 'summary' payload                -> no-op (the version is already stored);
--   * unstamped payload over a stamped stored run   -> stale (never applied);
--   * unstamped over unstamped                      -> last write wins (nothing orders them), except that an
--     identical payload is a no-op;
--   * older stamp                                   -> stale: neither the run row, nor its laps/recording, nor
--     the stored raw payload are touched.
-- Deletions are ordered the same way (flag_deleted_in_window.sql, mark_deleted.sql): a deleted run records
-- deleted_as_of_utc, the time its deletion was observed. An applied payload stamped after that un-deletes the
-- run (deleted_as_of_utc back to NULL); one stamped at or before it updates the row but leaves it deleted
-- (it is a version from before the deletion). Runs flagged before v003 have no deleted_as_of_utc: their stored
-- stamp stands in for it (and with no stamp either, any applied payload un-deletes).
-- Returns one row per staged id: applies, stale (superseded by the stored run: older or unstamped over
-- stamped; an equal stamp is "already stored", not stale), and the deleted / deleted_as_of_utc values the run
-- row takes when the payload applies.
WITH compared AS (
    SELECT
        s.activity_id,
        s.updated_at_utc                                AS stamp,
        r.activity_id IS NULL                           AS is_new,
        r.updated_at_utc                                AS stored_stamp,
        coalesce(r.deleted, FALSE)                      AS was_deleted,
        r.deleted_as_of_utc,
        coalesce(r.deleted_as_of_utc, r.updated_at_utc) AS deletion_stamp,
        coalesce(
            -- by hash: comparing the texts would read every stored payload of the kind (hundreds of kB each)
            w.updated_at_utc IS NOT DISTINCT FROM s.updated_at_utc AND w.payload_sha256 = sha256(s.payload),
            FALSE
        )                                               AS same_as_stored_payload
    FROM staged_raw AS s
    LEFT JOIN runs AS r ON s.activity_id = r.activity_id
    LEFT JOIN raw_activities AS w
        ON s.activity_id = w.activity_id AND w.payload_kind = $payload_kind
),

judged AS (
    SELECT
        *,
        coalesce(
            is_new
            OR (stored_stamp IS NULL AND stamp IS NOT NULL)
            OR stamp > stored_stamp
            OR (
                (
                    ($payload_kind = 'detail' AND stamp = stored_stamp)
                    OR (stamp IS NULL AND stored_stamp IS NULL)
                )
                AND NOT same_as_stored_payload
            ),
            FALSE
        )                                                                                          AS applies,
        coalesce(stamp < stored_stamp OR (stamp IS NULL AND stored_stamp IS NOT NULL), FALSE)      AS stale,
        was_deleted AND deletion_stamp IS NOT NULL AND NOT coalesce(stamp > deletion_stamp, FALSE) AS stays_deleted
    FROM compared
)

SELECT
    activity_id,
    applies,
    stale,
    stays_deleted                                      AS deleted,
    CASE WHEN stays_deleted THEN deleted_as_of_utc END AS deleted_as_of_utc
FROM judged;
