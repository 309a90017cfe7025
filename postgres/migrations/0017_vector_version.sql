-- Vector search runs in each serve process, over its own in-memory copy of
-- the stored embeddings (internal/vecindex), instead of through HNSW indexes.
-- The copy must know when the embeddings change, whichever process changed
-- them: vector_version is a counter every such change moves, read before
-- each search.

CREATE TABLE vector_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint  NOT NULL
);
INSERT INTO vector_version (version) VALUES (0);

-- Moves the counter once per transaction that inserted, deleted or updated
-- a chunk or an example. (Updates of any column count: a trigger on UPDATE
-- OF embedding would forbid the ALTER TABLE that retypes the column when the
-- embedding space changes, and chunks and examples are updated for their
-- embeddings only.) The triggers are deferred to the
-- commit, so that the counter's row is locked for the last instant of a
-- writing transaction only, and concurrent imports do not queue behind
-- each other for their whole length; the transaction-local setting makes
-- every row after the first a no-op.
CREATE FUNCTION bump_vector_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('relais.vector_version_moved', true), '') <> 'on' THEN
        UPDATE vector_version SET version = version + 1;
        PERFORM set_config('relais.vector_version_moved', 'on', true);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER chunks_vector_version
    AFTER INSERT OR DELETE OR UPDATE ON chunks
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_vector_version();

CREATE CONSTRAINT TRIGGER examples_vector_version
    AFTER INSERT OR DELETE OR UPDATE ON examples
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION bump_vector_version();

-- The HNSW indexes served the searches this replaces; every insert paid to
-- maintain them, and a large import waited minutes for their build.
DROP INDEX IF EXISTS chunks_embedding_hnsw_idx;
DROP INDEX IF EXISTS examples_embedding_hnsw_idx;
