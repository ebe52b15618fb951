INSERT INTO recording_data (activity_id, recording_keys, recording_values, pause_indexes, sample_count)
SELECT
    activity_id,
    recording_keys,
    recording_values,
    pause_indexes,
    sample_count
FROM staged_recordings;
