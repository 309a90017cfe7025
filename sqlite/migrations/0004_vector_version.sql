-- A counter of changes to what the in-memory vector index (vector.go) holds:
-- the embedding space, and the id, article, kind and embedding of every
-- embedded chunk and example. The index reloads when the counter moved.
--
-- PRAGMA data_version, which the index read before, moves on every commit by
-- any other connection, the store's own writer included: every customer
-- message, decision or calibration threw the whole index away, and the next
-- search paid for a reload of every vector. Triggers see every writer, in
-- this process or another one on the same file, and only the changes that
-- matter. Rows without an embedding are not in the index, so their inserts
-- and deletes leave the counter alone.
--
-- One row, updated in place: a bump dirties one page that the writing
-- transaction has usually touched already, and reading it costs the index
-- one primary-key lookup per search.

CREATE TABLE vector_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);

INSERT INTO vector_version (id, version) VALUES (1, 0);

CREATE TRIGGER chunks_vector_insert AFTER INSERT ON chunks
WHEN new.embedding IS NOT NULL BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

-- Fired too by the deletes cascaded from articles.
CREATE TRIGGER chunks_vector_delete AFTER DELETE ON chunks
WHEN old.embedding IS NOT NULL BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

-- The index keeps each chunk's id, article and kind next to its vector, so a
-- change of any of them counts, not only of the embedding.
CREATE TRIGGER chunks_vector_update AFTER UPDATE OF id, article_id, kind, embedding ON chunks
WHEN old.embedding IS NOT NULL OR new.embedding IS NOT NULL BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER examples_vector_insert AFTER INSERT ON examples
WHEN new.embedding IS NOT NULL BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER examples_vector_delete AFTER DELETE ON examples
WHEN old.embedding IS NOT NULL BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

-- Labels and texts are read at search time, not kept in the index.
CREATE TRIGGER examples_vector_update AFTER UPDATE OF id, embedding ON examples
WHEN old.embedding IS NOT NULL OR new.embedding IS NOT NULL BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

-- The space gives the index its dimension: recording or replacing it counts
-- even when no vector changed.
CREATE TRIGGER embedding_space_vector_insert AFTER INSERT ON embedding_space BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER embedding_space_vector_update AFTER UPDATE ON embedding_space BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER embedding_space_vector_delete AFTER DELETE ON embedding_space BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;
