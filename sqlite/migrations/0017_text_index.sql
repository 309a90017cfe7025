-- The full-text side of a search moved into the in-memory index the vector
-- search already used (internal/lexindex, loaded with the vectors): the
-- FTS5 tables and their triggers go, and vector_version now counts every
-- change of what that index holds, texts included.
--
-- The index keeps, besides each embedded row's vector, the text of every
-- chunk and every example, embedded or not, and the language it is stemmed
-- in: a chunk's article's (articles are saved with new chunks, so an
-- article's language never changes under its chunks) and an example's own.

DROP TRIGGER chunks_fts_insert;
DROP TRIGGER chunks_fts_delete;
DROP TRIGGER chunks_fts_update;
DROP TABLE chunks_fts;
DROP TRIGGER examples_fts_insert;
DROP TRIGGER examples_fts_delete;
DROP TRIGGER examples_fts_update;
DROP TABLE examples_fts;

DROP TRIGGER chunks_vector_insert;
DROP TRIGGER chunks_vector_delete;
DROP TRIGGER chunks_vector_update;
DROP TRIGGER examples_vector_insert;
DROP TRIGGER examples_vector_delete;
DROP TRIGGER examples_vector_update;

CREATE TRIGGER chunks_index_insert AFTER INSERT ON chunks BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

-- Fired too by the deletes cascaded from articles.
CREATE TRIGGER chunks_index_delete AFTER DELETE ON chunks BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER chunks_index_update AFTER UPDATE OF id, article_id, kind, text, embedding ON chunks BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER examples_index_insert AFTER INSERT ON examples BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER examples_index_delete AFTER DELETE ON examples BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;

-- Labels are read at search time, not kept in the index.
CREATE TRIGGER examples_index_update AFTER UPDATE OF id, text, language, embedding ON examples BEGIN
    UPDATE vector_version SET version = version + 1 WHERE id = 1;
END;
