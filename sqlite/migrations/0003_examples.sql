-- Labelled history (DESIGN.md section 7) and the calibrations learnt from it
-- (section 8). Mirrors PostgreSQL's 0003; independent of migration 0002.

-- AUTOINCREMENT: ids are never reused after DeleteExamples, as with
-- PostgreSQL's bigserial, so an example id kept in a decision trace, or the
-- afterID of a paging caller, never comes to mean another example.
CREATE TABLE examples (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 of source, label and trimmed text (see exampleKey): what makes
    -- a re-import skip the examples it already stored.
    content_key BLOB    NOT NULL UNIQUE,
    text        TEXT    NOT NULL CHECK (text <> ''),
    -- The external id of the article that resolved the question; '' for a
    -- question that had to reach a person. Not a foreign key: history
    -- outlives articles, search keeps returning the label, and the assistant
    -- ignores labels it cannot load.
    article_id  TEXT    NOT NULL,
    source      TEXT    NOT NULL CHECK (source <> ''),
    language    TEXT    NOT NULL DEFAULT '',
    -- Little-endian float32 in the chunks' space; NULL until embedded, and
    -- again after ResetEmbeddingSpace.
    embedding   BLOB,
    created_at  TEXT    NOT NULL
);

-- DeleteExamples removes a source's examples.
CREATE INDEX examples_source ON examples (source);

-- Re-embedding walks the examples without a vector, by id.
CREATE INDEX examples_missing_embedding ON examples (id) WHERE embedding IS NULL;

-- Full text over examples.text, kept in step by the triggers below exactly as
-- chunks_fts is (see 0001 for the tokenizer's reasons): the same query then
-- ranks chunks and examples alike.
CREATE VIRTUAL TABLE examples_fts USING fts5 (
    text,
    content = 'examples',
    content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER examples_fts_insert AFTER INSERT ON examples BEGIN
    INSERT INTO examples_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TRIGGER examples_fts_delete AFTER DELETE ON examples BEGIN
    INSERT INTO examples_fts (examples_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;

-- Only a change of text touches the index: setting embeddings must not.
CREATE TRIGGER examples_fts_update AFTER UPDATE OF text ON examples BEGIN
    INSERT INTO examples_fts (examples_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO examples_fts (rowid, text) VALUES (new.id, new.text);
END;

-- Every calibration ever made: the current one is the highest id, and the
-- history shows how the threshold moved as examples grew. Rows are never
-- deleted, so plain rowids only grow.
CREATE TABLE calibrations (
    id                   INTEGER PRIMARY KEY,
    threshold            REAL    NOT NULL,
    max_wrong_rate       REAL    NOT NULL,
    samples              INTEGER NOT NULL CHECK (samples >= 0),
    examples             INTEGER NOT NULL CHECK (examples >= 0),
    estimated_resolution REAL    NOT NULL,
    estimated_wrong_rate REAL    NOT NULL,
    -- The confidence model's parameters by name, as a JSON object; the
    -- assistant owns their meaning.
    model                TEXT    NOT NULL CHECK (json_valid(model) AND json_type(model) = 'object'),
    method               TEXT    NOT NULL,
    embedding_model      TEXT    NOT NULL,
    created_at           TEXT    NOT NULL
);
