-- The full-text side of a search runs in each serve process now, over the
-- in-memory index loaded with the vectors (internal/lexindex, the same as
-- the embedded store's): a question ranks the same passages on both
-- stores. The generated tsvectors and their GIN indexes, which every insert
-- paid for, go. ts_config stays, unread, until a migration that rewrites
-- the inserts drops it.
--
-- vector_version already moves on every insert, delete and update of a
-- chunk or an example (0017), which is what the text index needs too.

DROP INDEX IF EXISTS chunks_tsv_idx;
DROP INDEX IF EXISTS examples_tsv_idx;
ALTER TABLE chunks DROP COLUMN IF EXISTS tsv;
ALTER TABLE examples DROP COLUMN IF EXISTS tsv;
