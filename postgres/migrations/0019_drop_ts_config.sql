-- ts_config chose each chunk's and example's text search configuration for
-- the tsvectors 0018 dropped, and has been written on every insert and read
-- by nothing since: the full-text index in each serve process stems a
-- chunk in its article's language and an example in its own.

ALTER TABLE chunks DROP COLUMN IF EXISTS ts_config;
ALTER TABLE examples DROP COLUMN IF EXISTS ts_config;
