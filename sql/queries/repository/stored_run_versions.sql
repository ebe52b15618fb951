-- Every stored run's id, local date, dateUpdatedUTC and delete flag: the sensor's side of change detection
-- (is a listed activity new or newer than what is stored?) and of the id reconciliation (deletions). SmashRun's
-- runs only: a run from an activity file is never in SmashRun's listing and must not look deleted there.
SELECT
    activity_id,
    start_date,
    epoch(updated_at_utc) AS updated_epoch,
    deleted
FROM runs
WHERE data_source = 'smashrun';
