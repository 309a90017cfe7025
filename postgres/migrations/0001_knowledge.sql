-- The knowledge base: articles, their chunks, and the embedding space.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE articles (
    id           bigserial PRIMARY KEY,
    external_id  text        NOT NULL UNIQUE,
    title        text        NOT NULL,
    body         text        NOT NULL,
    language     text        NOT NULL,
    topic        text        NOT NULL,
    tags         text[]      NOT NULL,
    phrasings    text[]      NOT NULL,
    source       text        NOT NULL,
    content_hash text        NOT NULL,
    version      integer     NOT NULL CHECK (version > 0),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- Articles(Source), ArticleHashes(source) and PruneSource all select by
-- source, the first two in id order.
CREATE INDEX articles_source_id_idx ON articles (source, id);

CREATE TABLE chunks (
    id         bigserial PRIMARY KEY,
    article_id bigint  NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    ordinal    integer NOT NULL,
    kind       text    NOT NULL,
    heading    text    NOT NULL,
    text       text    NOT NULL,
    -- The text search configuration of the article's language. A generated
    -- column cannot cast text to regconfig, so the store sets it.
    ts_config  regconfig NOT NULL,
    tsv        tsvector GENERATED ALWAYS AS (to_tsvector(ts_config, text)) STORED,
    -- The dimension is the embedding model's, which no migration can know:
    -- SetEmbeddingSpace gives the column its dimension, vector(N), and its
    -- HNSW index. Until then the column exists so that every query is valid
    -- on a store that has no embeddings yet.
    embedding  vector,
    UNIQUE (article_id, ordinal)
);

CREATE INDEX chunks_tsv_idx ON chunks USING gin (tsv);

-- Re-embedding walks the chunks without a vector by id; after a model change
-- that is every chunk, and the index shrinks as the work gets done.
CREATE INDEX chunks_missing_embedding_idx ON chunks (id) WHERE embedding IS NULL;

-- The space the stored embeddings belong to; at most one row.
CREATE TABLE embedding_space (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    model       text        NOT NULL,
    dimensions  integer     NOT NULL CHECK (dimensions > 0),
    recorded_at timestamptz NOT NULL
);
