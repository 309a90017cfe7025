-- The classifier the assistant trains with each calibration (its own
-- binary encoding), kept with the threshold and model it was fitted with.
ALTER TABLE calibrations ADD COLUMN classifier bytea;
