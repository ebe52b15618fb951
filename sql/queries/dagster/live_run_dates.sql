-- Every live (not deleted) run's id and local date: the sensor's side of the id reconciliation.
SELECT activity_id, start_date FROM runs WHERE NOT deleted;
