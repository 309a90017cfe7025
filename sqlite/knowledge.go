package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/lexindex"
	"github.com/relais-ai/relais/internal/vecindex"
	"github.com/relais-ai/relais/knowledge"
)

const (
	// defaultListLimit is the page size of Articles when the caller sets none.
	defaultListLimit = 100
	// defaultSearchLimit matches knowledge.SearchOptions' default candidates.
	defaultSearchLimit = 50
	// timeLayout is how timestamps are stored: fixed width, so text order is
	// time order, and microseconds like PostgreSQL's timestamptz.
	timeLayout = "2006-01-02T15:04:05.000000Z07:00"
)

const articleColumns = `id, external_id, title, body, language, topic, tags, phrasings,
	source, content_hash, version, created_at, updated_at`

func scanArticle(r rowScanner) (knowledge.Article, error) {
	var (
		a                knowledge.Article
		tags, phrasings  string
		created, updated string
	)
	err := r.Scan(&a.ID, &a.ExternalID, &a.Title, &a.Body, &a.Language, &a.Topic, &tags, &phrasings,
		&a.Source, &a.ContentHash, &a.Version, &created, &updated)
	if err != nil {
		return knowledge.Article{}, err
	}
	if a.Tags, err = decodeStrings(tags); err != nil {
		return knowledge.Article{}, fmt.Errorf("article %d tags: %w", a.ID, err)
	}
	if a.Phrasings, err = decodeStrings(phrasings); err != nil {
		return knowledge.Article{}, fmt.Errorf("article %d phrasings: %w", a.ID, err)
	}
	if a.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return knowledge.Article{}, fmt.Errorf("article %d created_at: %w", a.ID, err)
	}
	if a.UpdatedAt, err = time.Parse(time.RFC3339Nano, updated); err != nil {
		return knowledge.Article{}, fmt.Errorf("article %d updated_at: %w", a.ID, err)
	}
	return a, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// encodeStrings stores a list as a JSON array, never null, so the column
// stays queryable with json_each.
func encodeStrings(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	// A []string always marshals: invalid UTF-8 is replaced, not refused.
	b, _ := json.Marshal(s)
	return string(b)
}

// decodeStrings returns nil for an empty list, so an article reads back the
// same whether it was saved with nil or an empty slice.
func decodeStrings(s string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// chunkColumns are the columns scanChunk reads: a chunk without its
// embedding.
const chunkColumns = `id, article_id, ordinal, kind, heading, text`

func scanChunk(r rowScanner) (knowledge.Chunk, error) {
	var c knowledge.Chunk
	var kind string
	err := r.Scan(&c.ID, &c.ArticleID, &c.Ordinal, &kind, &c.Heading, &c.Text)
	c.Kind = knowledge.ChunkKind(kind)
	return c, err
}

// Article returns an article by its store id; relais.ErrNotFound if none.
func (db *DB) Article(ctx context.Context, id int64) (knowledge.Article, error) {
	a, err := scanArticle(db.reader.QueryRowContext(ctx, "SELECT "+articleColumns+" FROM articles WHERE id = ?", id))
	if err != nil {
		return knowledge.Article{}, rowErr(fmt.Sprintf("article %d", id), err)
	}
	return a, nil
}

// ArticleByExternalID returns an article by external id; relais.ErrNotFound
// if none.
func (db *DB) ArticleByExternalID(ctx context.Context, externalID string) (knowledge.Article, error) {
	a, err := scanArticle(db.reader.QueryRowContext(ctx, "SELECT "+articleColumns+" FROM articles WHERE external_id = ?", externalID))
	if err != nil {
		return knowledge.Article{}, rowErr(fmt.Sprintf("article %q", externalID), err)
	}
	return a, nil
}

// ArticlesByID returns the articles with these store ids, in id order;
// unknown ids are left out.
func (db *DB) ArticlesByID(ctx context.Context, ids []int64) ([]knowledge.Article, error) {
	return articlesWhereIn(ctx, db, "get articles by id", "id", ids)
}

// ArticlesByExternalID returns the articles with these external ids, in id
// order; unknown ids are left out.
func (db *DB) ArticlesByExternalID(ctx context.Context, externalIDs []string) ([]knowledge.Article, error) {
	return articlesWhereIn(ctx, db, "get articles by external id", "external_id", externalIDs)
}

// inBatch bounds the values bound in one IN list, well under SQLite's limit
// on host parameters.
const inBatch = 500

func articlesWhereIn[K int64 | string](ctx context.Context, db *DB, op, column string, keys []K) ([]knowledge.Article, error) {
	out := []knowledge.Article{}
	for len(keys) > 0 {
		part := keys[:min(inBatch, len(keys))]
		keys = keys[len(part):]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		query := "SELECT " + articleColumns + " FROM articles WHERE " + column + " IN (?" + strings.Repeat(",?", len(part)-1) + ")"
		found, err := collectRows(ctx, db.reader, scanArticle, query, args...)
		if err != nil {
			return nil, wrapErr(op, err)
		}
		out = append(out, found...)
	}
	slices.SortFunc(out, func(a, b knowledge.Article) int { return cmp.Compare(a.ID, b.ID) })
	// The same article may have been asked for in two batches.
	return slices.CompactFunc(out, func(a, b knowledge.Article) bool { return a.ID == b.ID }), nil
}

// Articles lists articles ordered by id, filtered by source and paged.
// Limit 0 means 100; a negative limit or offset is relais.ErrInvalid.
func (db *DB) Articles(ctx context.Context, opts knowledge.ListOptions) ([]knowledge.Article, error) {
	const op = "list articles"
	if opts.Limit < 0 || opts.Offset < 0 {
		return nil, fmt.Errorf("%s: limit %d, offset %d: must not be negative: %w", op, opts.Limit, opts.Offset, relais.ErrInvalid)
	}
	if opts.Limit == 0 {
		opts.Limit = defaultListLimit
	}
	query := "SELECT " + articleColumns + " FROM articles"
	args := []any{}
	if opts.Source != "" {
		query += " WHERE source = ?"
		args = append(args, opts.Source)
	}
	query += " ORDER BY id LIMIT ? OFFSET ?"
	args = append(args, opts.Limit, opts.Offset)
	out, err := collectRows(ctx, db.reader, scanArticle, query, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

// ArticleHashes maps external id to content hash for the articles of source,
// or of every source when source is "".
func (db *DB) ArticleHashes(ctx context.Context, source string) (map[string]string, error) {
	op := fmt.Sprintf("article hashes of source %q", source)
	query := "SELECT external_id, content_hash FROM articles"
	args := []any{}
	if source != "" {
		query += " WHERE source = ?"
		args = append(args, source)
	}
	out := map[string]string{}
	err := forEachRow(ctx, db.reader, func(r rowScanner) error {
		var id, hash string
		if err := r.Scan(&id, &hash); err != nil {
			return err
		}
		out[id] = hash
		return nil
	}, query, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

// SaveArticle inserts the article, or replaces the one with the same external
// id, and replaces its chunks, in one transaction. The article keeps its id
// and creation time; Version goes up by one when ContentHash changed;
// UpdatedAt is set on every save, since chunks and fields are rewritten even
// when the hash is unchanged. Chunk ordinals are the chunks' positions in the
// slice. An embedding must match the recorded embedding space and be finite;
// otherwise, or when the article breaks knowledge.ValidateArticle, the error
// wraps relais.ErrInvalid.
func (db *DB) SaveArticle(ctx context.Context, a knowledge.Article, chunks []knowledge.Chunk) (knowledge.Article, error) {
	saved, err := db.SaveArticles(ctx, []knowledge.ArticleChunks{{Article: a, Chunks: chunks}})
	if err != nil {
		return knowledge.Article{}, err
	}
	return saved[0], nil
}

// SaveArticles is SaveArticle for each article of batch, in order, in one
// transaction: all are saved or none.
func (db *DB) SaveArticles(ctx context.Context, batch []knowledge.ArticleChunks) ([]knowledge.Article, error) {
	op := saveArticlesOp(batch)
	for _, ac := range batch {
		if err := knowledge.ValidateArticle(ac.Article, ac.Chunks); err != nil {
			if len(batch) > 1 {
				err = fmt.Errorf("article %q: %w", ac.Article.ExternalID, err)
			}
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	now := formatTime(db.now())
	saved := make([]knowledge.Article, len(batch))
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		insert, err := tx.PrepareContext(ctx, `INSERT INTO chunks (article_id, ordinal, kind, heading, text, embedding)
			VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insert.Close()
		// One look at the space for the whole batch, not one an article.
		dims := 0
		if slices.ContainsFunc(batch, func(ac knowledge.ArticleChunks) bool { return hasEmbedding(ac.Chunks) }) {
			if dims, err = spaceDimensions(ctx, tx); err != nil {
				return err
			}
		}
		for i, ac := range batch {
			if saved[i], err = saveArticleTx(ctx, tx, insert, dims, ac.Article, ac.Chunks, now); err != nil {
				if len(batch) > 1 {
					return fmt.Errorf("article %q: %w", ac.Article.ExternalID, err)
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	db.vectors.Invalidate()
	return saved, nil
}

func hasEmbedding(chunks []knowledge.Chunk) bool {
	return slices.ContainsFunc(chunks, func(c knowledge.Chunk) bool { return c.Embedding != nil })
}

// saveArticlesOp names a save in errors: the article when it is one.
func saveArticlesOp(batch []knowledge.ArticleChunks) string {
	if len(batch) == 1 {
		return fmt.Sprintf("save article %q", batch[0].Article.ExternalID)
	}
	return fmt.Sprintf("save %d articles", len(batch))
}

// saveArticleTx is one article's part of SaveArticles: the embeddings
// checked against the space's dims (0: none recorded), the row inserted or
// updated, the chunks replaced (insert is the prepared chunk INSERT), and
// what was stored read back, so the caller sees exactly what Article will
// return.
func saveArticleTx(ctx context.Context, tx *sql.Tx, insert *sql.Stmt, dims int, a knowledge.Article, chunks []knowledge.Chunk, now string) (knowledge.Article, error) {
	err := checkVectors(dims, "chunk", chunks, func(c knowledge.Chunk) []float32 { return c.Embedding })
	if err != nil {
		return knowledge.Article{}, err
	}
	var (
		id      int64
		oldHash string
		version int
	)
	err = tx.QueryRowContext(ctx, "SELECT id, content_hash, version FROM articles WHERE external_id = ?",
		a.ExternalID).Scan(&id, &oldHash, &version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = tx.QueryRowContext(ctx, `INSERT INTO articles
			(external_id, title, body, language, topic, tags, phrasings, source, content_hash, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`,
			a.ExternalID, a.Title, a.Body, a.Language, a.Topic, encodeStrings(a.Tags), encodeStrings(a.Phrasings),
			a.Source, a.ContentHash, now, now).Scan(&id)
		if err != nil {
			return knowledge.Article{}, err
		}
	case err != nil:
		return knowledge.Article{}, err
	default:
		if a.ContentHash != oldHash {
			version++
		}
		_, err = tx.ExecContext(ctx, `UPDATE articles SET
			title = ?, body = ?, language = ?, topic = ?, tags = ?, phrasings = ?, source = ?,
			content_hash = ?, version = ?, updated_at = ?
			WHERE id = ?`,
			a.Title, a.Body, a.Language, a.Topic, encodeStrings(a.Tags), encodeStrings(a.Phrasings), a.Source,
			a.ContentHash, version, now, id)
		if err != nil {
			return knowledge.Article{}, err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM chunks WHERE article_id = ?", id); err != nil {
			return knowledge.Article{}, err
		}
	}
	for i, c := range chunks {
		var emb any // NULL: to be embedded later
		if c.Embedding != nil {
			emb = encodeVector(c.Embedding)
		}
		if _, err := insert.ExecContext(ctx, id, i, string(c.Kind), c.Heading, c.Text, emb); err != nil {
			return knowledge.Article{}, fmt.Errorf("chunk %d: %w", i, err)
		}
	}
	return scanArticle(tx.QueryRowContext(ctx, "SELECT "+articleColumns+" FROM articles WHERE id = ?", id))
}

// DeleteArticle removes an article and, by cascade, its chunks;
// relais.ErrNotFound if none.
func (db *DB) DeleteArticle(ctx context.Context, id int64) error {
	op := fmt.Sprintf("delete article %d", id)
	n, err := db.deleteRows(ctx, op, "DELETE FROM articles WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, relais.ErrNotFound)
	}
	return nil
}

// deleteRows runs a DELETE in a write transaction and returns how many rows
// it removed. Any removal invalidates the vector index: the rows, or the
// chunks they cascade to, may hold vectors.
func (db *DB) deleteRows(ctx context.Context, op, query string, args ...any) (int64, error) {
	var n int64
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		db.vectors.Invalidate()
	}
	return n, nil
}

// PruneSource deletes the articles of source whose external id is not in
// keep, and returns how many it deleted. An empty source is relais.ErrInvalid:
// a delete must never be read as "every source".
func (db *DB) PruneSource(ctx context.Context, source string, keep []string) (int, error) {
	op := fmt.Sprintf("prune source %q", source)
	if source == "" {
		return 0, fmt.Errorf("%s: empty source: %w", op, relais.ErrInvalid)
	}
	// keep goes in as one JSON array: an import can keep more ids than
	// SQLite accepts bound parameters.
	n, err := db.deleteRows(ctx, op, `DELETE FROM articles
		WHERE source = ? AND external_id NOT IN (SELECT value FROM json_each(?))`,
		source, encodeStrings(keep))
	return int(n), err
}

// Chunks returns an article's chunks in order, without embeddings;
// relais.ErrNotFound if the article does not exist.
func (db *DB) Chunks(ctx context.Context, articleID int64) ([]knowledge.Chunk, error) {
	op := fmt.Sprintf("chunks of article %d", articleID)
	out, err := collectRows(ctx, db.reader, scanChunk, `SELECT `+chunkColumns+`
		FROM chunks WHERE article_id = ? ORDER BY ordinal`, articleID)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if len(out) == 0 {
		// An article may have no chunks; only a missing article is an error.
		var one int
		if err := db.reader.QueryRowContext(ctx, "SELECT 1 FROM articles WHERE id = ?", articleID).Scan(&one); err != nil {
			return nil, rowErr(op, err)
		}
	}
	return out, nil
}

// SearchChunks returns the cosine ranking of q.Vector over the stored
// embeddings and the BM25 ranking of q.Text's words (lexindex), each best
// first, ties by chunk id, and at most q.Limit long (50 when 0). The vector
// list is empty when q.Vector is empty or the store has no embedding space,
// and a vector of another dimension than the space is relais.ErrInvalid.
// Both rankings come from the in-memory snapshot of the store (vecindex),
// which keeps the texts: the store is read only for the stored vectors of
// the vector candidates when the snapshot keeps none of its own (above
// vecindex.MaxUnitVectorBytes).
//
// With q.ExampleLimit > 0 it ranks the examples the same two ways, at most
// q.ExampleLimit each, from the same snapshot as the chunks. An example
// whose article was removed keeps its label in the results: the caller
// decides what an unknown article means. A negative Limit or ExampleLimit
// is relais.ErrInvalid.
func (db *DB) SearchChunks(ctx context.Context, q knowledge.ChunkQuery) (knowledge.ChunkResults, error) {
	const op = "search chunks"
	if q.Limit < 0 || q.ExampleLimit < 0 {
		return knowledge.ChunkResults{}, fmt.Errorf("%s: limit %d, example limit %d: must not be negative: %w",
			op, q.Limit, q.ExampleLimit, relais.ErrInvalid)
	}
	limit := q.Limit
	if limit == 0 {
		limit = defaultSearchLimit
	}
	words := lexindex.Words(q.Text, q.Language, knowledge.MaxQueryTerms)
	if len(q.Vector) == 0 && len(words) == 0 {
		return knowledge.ChunkResults{}, nil
	}
	snap, stale, err := db.vectors.CurrentOrStale(ctx)
	if err != nil {
		return knowledge.ChunkResults{}, fmt.Errorf("%s: %w", op, err)
	}
	var res knowledge.ChunkResults
	if len(q.Vector) > 0 {
		if err := db.searchVectors(ctx, snap, q.Vector, limit, q.ExampleLimit, &res.Vector, &res.ExampleVector); err != nil {
			return knowledge.ChunkResults{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	if len(words) > 0 {
		res.Text = snap.TextChunks(words, limit)
		if q.ExampleLimit > 0 {
			res.ExampleText = snap.TextExamples(words, q.ExampleLimit)
		}
	}
	if stale {
		if err := vecindex.DropGone(&res, db.storedTexts(ctx)); err != nil {
			return knowledge.ChunkResults{}, fmt.Errorf("%s: %w", op, err)
		}
	}
	return res, nil
}

// storedTexts returns the texts table (chunks or examples) holds under
// ids, for vecindex.DropGone.
func (db *DB) storedTexts(ctx context.Context) func(table string, ids []int64) (map[int64]string, error) {
	return func(table string, ids []int64) (map[int64]string, error) {
		idsJSON, err := json.Marshal(ids)
		if err != nil {
			return nil, err
		}
		found := make(map[int64]string, len(ids))
		err = forEachRow(ctx, db.reader, func(r rowScanner) error {
			var (
				id   int64
				text string
			)
			err := r.Scan(&id, &text)
			found[id] = text
			return err
		}, "SELECT id, text FROM "+table+" WHERE id IN (SELECT value FROM json_each(?))", string(idsJSON))
		return found, wrapErr("check "+table+" still stored", err)
	}
}

// searchVectors fills the vector lists, the examples' when exampleLimit >
// 0: candidates from the snapshot's quantised index, ranked exactly
// (vecindex.Snapshot.SearchVectors).
func (db *DB) searchVectors(ctx context.Context, snap *vecindex.Snapshot, v []float32, limit, exampleLimit int, chunks *[]knowledge.ChunkMatch, examples *[]knowledge.ExampleMatch) error {
	if snap.Dims == 0 {
		return nil
	}
	if err := checkVector(v, snap.Dims); err != nil {
		return fmt.Errorf("query vector: %w", err)
	}
	query, ok := vecindex.NewQuery(v)
	if !ok {
		return nil // the zero vector has no direction: no vector ranking
	}
	var err error
	*chunks, *examples, err = snap.SearchVectors(query, limit, exampleLimit, db.storedVectors(ctx, snap.Dims))
	return err
}

// storedVectors reads the stored vectors of a search's candidates, one
// query a table, for vecindex.Snapshot.SearchVectors. One buffer decodes
// every row.
func (db *DB) storedVectors(ctx context.Context, dims int) vecindex.StoredVectors {
	return func(want []vecindex.Candidates, add func(table string, id int64, v []float32)) error {
		buf := make([]float32, 0, dims)
		for _, c := range want {
			idsJSON, err := json.Marshal(c.IDs)
			if err != nil {
				return fmt.Errorf("vector ranking of %s: %w", c.Table, err)
			}
			err = forEachRow(ctx, db.reader, func(r rowScanner) error {
				var (
					id   int64
					blob sql.RawBytes // valid until the next row: decoded at once
				)
				if err := r.Scan(&id, &blob); err != nil {
					return err
				}
				if len(blob)%4 != 0 {
					return nil // a vector no writer of this store leaves: not ranked
				}
				buf = appendVector(buf[:0], blob)
				add(c.Table, id, buf)
				return nil
			}, "SELECT id, embedding FROM "+c.Table+" WHERE id IN (SELECT value FROM json_each(?)) AND embedding IS NOT NULL", string(idsJSON))
			if err != nil {
				return wrapErr("vector ranking of "+c.Table, err)
			}
		}
		return nil
	}
}

// Stats counts articles and chunks.
func (db *DB) Stats(ctx context.Context) (knowledge.Stats, error) {
	var s knowledge.Stats
	err := db.reader.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM articles),
		(SELECT count(*) FROM chunks),
		(SELECT count(*) FROM chunks WHERE embedding IS NULL)`).Scan(&s.Articles, &s.Chunks, &s.ChunksMissingVector)
	if err != nil {
		return knowledge.Stats{}, wrapErr("knowledge stats", err)
	}
	return s, nil
}

// EmbeddingSpace returns the recorded embedding space; relais.ErrNotFound
// while none is recorded.
func (db *DB) EmbeddingSpace(ctx context.Context) (knowledge.EmbeddingSpace, error) {
	var s knowledge.EmbeddingSpace
	err := db.reader.QueryRowContext(ctx, "SELECT model, dimensions FROM embedding_space WHERE id = 1").
		Scan(&s.Model, &s.Dimensions)
	if errors.Is(err, sql.ErrNoRows) {
		return knowledge.EmbeddingSpace{}, fmt.Errorf("embedding space: none recorded: %w", relais.ErrNotFound)
	}
	if err != nil {
		return knowledge.EmbeddingSpace{}, wrapErr("embedding space", err)
	}
	return s, nil
}

// spaceDimensions returns the recorded dimension, or 0 when none is.
func spaceDimensions(ctx context.Context, tx *sql.Tx) (int, error) {
	var dims int
	err := tx.QueryRowContext(ctx, "SELECT dimensions FROM embedding_space WHERE id = 1").Scan(&dims)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return dims, err
}

// checkEmbeddings checks the embedding of each item that has one against
// the space recorded in tx; noun names an item, by its index, in errors.
// Reading the space inside the write transaction keeps a concurrent reset
// from slipping in between the check and the insert.
func checkEmbeddings[T any](ctx context.Context, tx *sql.Tx, noun string, items []T, embedding func(T) []float32) error {
	if !slices.ContainsFunc(items, func(it T) bool { return embedding(it) != nil }) {
		return nil
	}
	dims, err := spaceDimensions(ctx, tx)
	if err != nil {
		return err
	}
	return checkVectors(dims, noun, items, embedding)
}

// checkVectors checks each item's embedding, for the items that have one,
// against a space of dims dimensions (0: none recorded).
func checkVectors[T any](dims int, noun string, items []T, embedding func(T) []float32) error {
	for i, it := range items {
		v := embedding(it)
		if v == nil {
			continue
		}
		if dims == 0 {
			return fmt.Errorf("%s %d has an embedding but the store has no embedding space yet: %w", noun, i, relais.ErrInvalid)
		}
		if err := checkVector(v, dims); err != nil {
			return fmt.Errorf("%s %d: %w", noun, i, err)
		}
	}
	return nil
}

// SetEmbeddingSpace records s when no space is recorded, or checks it
// against the recorded one: relais.ErrConflict on a mismatch, relais.ErrInvalid
// when it breaks EmbeddingSpace.Check.
func (db *DB) SetEmbeddingSpace(ctx context.Context, s knowledge.EmbeddingSpace) error {
	op := fmt.Sprintf("set embedding space %s/%d", s.Model, s.Dimensions)
	if err := s.Check(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	recorded := false
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var cur knowledge.EmbeddingSpace
		err := tx.QueryRowContext(ctx, "SELECT model, dimensions FROM embedding_space WHERE id = 1").
			Scan(&cur.Model, &cur.Dimensions)
		if errors.Is(err, sql.ErrNoRows) {
			_, err = tx.ExecContext(ctx, "INSERT INTO embedding_space (id, model, dimensions) VALUES (1, ?, ?)",
				s.Model, s.Dimensions)
			recorded = err == nil
			return err
		}
		if err != nil {
			return err
		}
		return cur.Match(s)
	})
	if err != nil {
		return err
	}
	if recorded {
		db.vectors.Invalidate()
	}
	return nil
}

// ResetEmbeddingSpace records s as the space, whatever was recorded, and
// clears the embedding of every chunk and every example in the same
// transaction, so vectors of two models never sit side by side.
func (db *DB) ResetEmbeddingSpace(ctx context.Context, s knowledge.EmbeddingSpace) error {
	op := fmt.Sprintf("reset embedding space to %s/%d", s.Model, s.Dimensions)
	if err := s.Check(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO embedding_space (id, model, dimensions) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET model = excluded.model, dimensions = excluded.dimensions`,
			s.Model, s.Dimensions)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE chunks SET embedding = NULL WHERE embedding IS NOT NULL"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE examples SET embedding = NULL WHERE embedding IS NOT NULL")
		return err
	})
	if err != nil {
		return err
	}
	db.vectors.Invalidate()
	return nil
}

// ChunksMissingEmbedding returns up to limit chunks without an embedding, by
// id, with their text; relais.ErrInvalid when limit is not positive.
func (db *DB) ChunksMissingEmbedding(ctx context.Context, limit int) ([]knowledge.Chunk, error) {
	const op = "chunks missing embedding"
	if limit <= 0 {
		return nil, fmt.Errorf("%s: limit %d: must be positive: %w", op, limit, relais.ErrInvalid)
	}
	out, err := collectRows(ctx, db.reader, scanChunk, `SELECT `+chunkColumns+`
		FROM chunks WHERE embedding IS NULL ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

// SetChunkEmbeddings stores each chunk's Embedding on the chunk with its ID,
// all or none: relais.ErrNotFound if a chunk does not exist, relais.ErrInvalid
// if an embedding does not fit the recorded space (or none is recorded).
func (db *DB) SetChunkEmbeddings(ctx context.Context, chunks []knowledge.Chunk) error {
	ids := make([]int64, len(chunks))
	vecs := make([][]float32, len(chunks))
	for i, c := range chunks {
		ids[i], vecs[i] = c.ID, c.Embedding
	}
	return db.setEmbeddings(ctx, "set chunk embeddings", "chunks", "chunk", ids, vecs)
}

// setEmbeddings stores vecs[i] on the row ids[i] of table (chunks or
// examples: a constant of the caller's, never input), all or none:
// relais.ErrNotFound if a row does not exist, relais.ErrInvalid if a vector
// does not fit the recorded space (or none is recorded). noun names a row in
// errors.
func (db *DB) setEmbeddings(ctx context.Context, op, table, noun string, ids []int64, vecs [][]float32) error {
	if len(ids) == 0 {
		return nil
	}
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		dims, err := spaceDimensions(ctx, tx)
		if err != nil {
			return err
		}
		if dims == 0 {
			return fmt.Errorf("the store has no embedding space yet: %w", relais.ErrInvalid)
		}
		stmt, err := tx.PrepareContext(ctx, "UPDATE "+table+" SET embedding = ? WHERE id = ?")
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, id := range ids {
			if err := checkVector(vecs[i], dims); err != nil {
				return fmt.Errorf("%s %d: %w", noun, id, err)
			}
			res, err := stmt.ExecContext(ctx, encodeVector(vecs[i]), id)
			if err != nil {
				return fmt.Errorf("%s %d: %w", noun, id, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("%s %d: %w", noun, id, err)
			}
			if n == 0 {
				return fmt.Errorf("%s %d: %w", noun, id, relais.ErrNotFound)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	db.vectors.Invalidate()
	return nil
}
