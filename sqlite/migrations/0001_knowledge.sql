-- The knowledge base: articles, their chunks, full-text index and the
-- embedding space. Mirrors the PostgreSQL schema; the differences are the
-- ones SQLite forces: JSON text for tags and phrasings, BLOB embeddings
-- (little-endian float32) scanned in Go, and an FTS5 table for full text.

CREATE TABLE articles (
    id           INTEGER PRIMARY KEY,
    external_id  TEXT    NOT NULL UNIQUE,
    title        TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    language     TEXT    NOT NULL DEFAULT '',
    topic        TEXT    NOT NULL DEFAULT '',
    tags         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    phrasings    TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(phrasings)),
    source       TEXT    NOT NULL DEFAULT '',
    content_hash TEXT    NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    -- RFC 3339 UTC with microseconds: sorts as text and matches the
    -- precision of PostgreSQL's timestamptz.
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);

-- ArticleHashes and PruneSource filter by source on every import.
CREATE INDEX articles_source ON articles (source, external_id);

CREATE TABLE chunks (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    ordinal    INTEGER NOT NULL CHECK (ordinal >= 0),
    kind       TEXT    NOT NULL CHECK (kind IN ('passage', 'question')),
    heading    TEXT    NOT NULL DEFAULT '',
    text       TEXT    NOT NULL,
    -- NULL until embedded, and again after ResetEmbeddingSpace.
    embedding  BLOB,
    UNIQUE (article_id, ordinal)
);

-- Re-embedding walks the chunks without a vector, by id.
CREATE INDEX chunks_missing_embedding ON chunks (id) WHERE embedding IS NULL;

-- One row at most: the model and dimension every stored vector belongs to.
CREATE TABLE embedding_space (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    model      TEXT    NOT NULL CHECK (model <> ''),
    dimensions INTEGER NOT NULL CHECK (dimensions > 0)
);

-- External-content FTS5 index over chunks.text: the text is stored once, in
-- chunks, and the triggers below keep the index in step within the writing
-- transaction (including deletes cascaded from articles, which fire them).
--
-- porter is an English stemmer and FTS5 has no French one; the driver offers
-- no way to register a tokenizer written in Go. On French text porter strips
-- some endings by luck ("annulation", "annuler", "annulé" all become "annul")
-- and misses the rest ("annulez", "annulons" stay apart); a French-stemmed
-- shadow column filled in Go would be the way to do better. remove_diacritics 2
-- folds "annulé" into "annule" and "été" into "ete" on both sides, which
-- covers customers who type without accents. Stop words, which the index
-- cannot leave out, are left out of queries instead (see ftsQuery).
CREATE VIRTUAL TABLE chunks_fts USING fts5 (
    text,
    content = 'chunks',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
END;

-- An external-content index must be told the old text to remove its terms.
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

-- Only a change of text touches the index: setting embeddings must not.
CREATE TRIGGER chunks_fts_update AFTER UPDATE OF text ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO chunks_fts (rowid, text) VALUES (new.id, new.text);
END;
