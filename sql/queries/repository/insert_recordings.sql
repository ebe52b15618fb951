-- The recordings of the winning detail payloads only (staged_winners, see staged_verdicts.sql).
INSERT INTO recording_data (activity_id, recording_keys, recording_values, pause_indexes, sample_count)
SELECT
    s.activity_id,
    s.recording_keys,
    s.recording_values,
    s.pause_indexes,
    s.sample_count
FROM staged_recordings AS s
WHERE s.activity_id IN (SELECT w.activity_id FROM staged_winners AS w);
