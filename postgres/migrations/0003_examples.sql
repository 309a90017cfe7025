-- Labelled history (DESIGN.md section 7) and the calibrations learnt from it
-- (section 8). Independent of migration 0002: it only reads embedding_space.

CREATE TABLE examples (
    id          bigserial PRIMARY KEY,
    -- SHA-256 of source, label and trimmed text (see exampleKey): what makes
    -- a re-import skip the examples it already stored. A hash rather than a
    -- unique index over the columns, because a B-tree entry cannot exceed
    -- about 2.7 kB and an example may be a pasted e-mail.
    content_key bytea       NOT NULL UNIQUE,
    text        text        NOT NULL CHECK (text <> ''),
    -- The external id of the article that resolved the question; '' for a
    -- question that had to reach a person. Not a foreign key: history
    -- outlives articles (an import may prune an article that examples still
    -- name), search keeps returning the label, and the assistant ignores
    -- labels it cannot load.
    article_id  text        NOT NULL,
    source      text        NOT NULL CHECK (source <> ''),
    language    text        NOT NULL,
    -- As for chunks: the example's language's configuration, set by the store.
    ts_config   regconfig   NOT NULL,
    tsv         tsvector GENERATED ALWAYS AS (to_tsvector(ts_config, text)) STORED,
    -- Same space as chunks.embedding: SetEmbeddingSpace and
    -- ResetEmbeddingSpace give both columns their dimension and index in the
    -- same transaction.
    embedding   vector,
    created_at  timestamptz NOT NULL
);

-- DeleteExamples removes a source's examples.
CREATE INDEX examples_source_idx ON examples (source);

CREATE INDEX examples_tsv_idx ON examples USING gin (tsv);

-- Re-embedding walks the examples without a vector by id, as for chunks.
CREATE INDEX examples_missing_embedding_idx ON examples (id) WHERE embedding IS NULL;

-- A database that already records a space has its chunks column typed and
-- indexed; the new column must match it, or vectors of any length would be
-- accepted and searched without an index. The statements are those of
-- switchSpace in embedding.go (same index name and parameters).
DO $$
DECLARE
    dims integer;
BEGIN
    SELECT dimensions INTO dims FROM embedding_space;
    IF dims IS NOT NULL THEN
        EXECUTE format('ALTER TABLE examples ALTER COLUMN embedding TYPE vector(%s)', dims);
        IF dims <= 2000 THEN
            CREATE INDEX examples_embedding_hnsw_idx ON examples
            USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
        END IF;
    END IF;
END
$$;

-- Every calibration ever made, newest last: the current one is the highest
-- id, and the history shows how the threshold moved as examples grew.
CREATE TABLE calibrations (
    id                   bigserial        PRIMARY KEY,
    threshold            double precision NOT NULL,
    max_wrong_rate       double precision NOT NULL,
    samples              integer          NOT NULL CHECK (samples >= 0),
    examples             integer          NOT NULL CHECK (examples >= 0),
    estimated_resolution double precision NOT NULL,
    estimated_wrong_rate double precision NOT NULL,
    -- The confidence model's parameters by name; the assistant owns their
    -- meaning, so the store keeps them opaque.
    model                jsonb            NOT NULL CHECK (jsonb_typeof(model) = 'object'),
    method               text             NOT NULL,
    embedding_model      text             NOT NULL,
    created_at           timestamptz      NOT NULL
);
