package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

var _ knowledge.Store = (*DB)(nil)

// defaultListLimit is how many articles Articles returns when asked for no
// particular number.
const defaultListLimit = 100

const articleColumns = `id, external_id, title, body, language, topic, tags, phrasings, source, content_hash, version, created_at, updated_at`

func scanArticle(row pgx.Row) (knowledge.Article, error) {
	var a knowledge.Article
	err := row.Scan(&a.ID, &a.ExternalID, &a.Title, &a.Body, &a.Language, &a.Topic, &a.Tags, &a.Phrasings,
		&a.Source, &a.ContentHash, &a.Version, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

func collectArticle(row pgx.CollectableRow) (knowledge.Article, error) { return scanArticle(row) }

// Article returns an article by id; relais.ErrNotFound if none.
func (d *DB) Article(ctx context.Context, id int64) (knowledge.Article, error) {
	a, err := scanArticle(d.pool.QueryRow(ctx, `SELECT `+articleColumns+` FROM articles WHERE id = $1`, id))
	if err != nil {
		return knowledge.Article{}, dbError(fmt.Sprintf("get article %d", id), err)
	}
	return a, nil
}

// ArticleByExternalID returns an article by external id; relais.ErrNotFound
// if none.
func (d *DB) ArticleByExternalID(ctx context.Context, externalID string) (knowledge.Article, error) {
	a, err := scanArticle(d.pool.QueryRow(ctx, `SELECT `+articleColumns+` FROM articles WHERE external_id = $1`, externalID))
	if err != nil {
		return knowledge.Article{}, dbError(fmt.Sprintf("get article %q", externalID), err)
	}
	return a, nil
}

// ArticlesByID returns the articles with these ids, in id order; unknown ids
// are left out.
func (d *DB) ArticlesByID(ctx context.Context, ids []int64) ([]knowledge.Article, error) {
	return d.articlesWhere(ctx, "get articles by id", `id = ANY($1)`, ids)
}

// ArticlesByExternalID returns the articles with these external ids, in id
// order; unknown ids are left out.
func (d *DB) ArticlesByExternalID(ctx context.Context, externalIDs []string) ([]knowledge.Article, error) {
	return d.articlesWhere(ctx, "get articles by external id", `external_id = ANY($1)`, externalIDs)
}

func (d *DB) articlesWhere(ctx context.Context, op, cond string, arg any) ([]knowledge.Article, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+articleColumns+` FROM articles WHERE `+cond+` ORDER BY id`, arg)
	if err != nil {
		return nil, dbError(op, err)
	}
	articles, err := pgx.CollectRows(rows, collectArticle)
	if err != nil {
		return nil, dbError(op, err)
	}
	return articles, nil
}

// Articles lists articles in id order, filtered by source and paged.
// A negative limit or offset is relais.ErrInvalid.
func (d *DB) Articles(ctx context.Context, opts knowledge.ListOptions) ([]knowledge.Article, error) {
	if opts.Limit < 0 || opts.Offset < 0 {
		return nil, fmt.Errorf("list articles: limit %d, offset %d: %w", opts.Limit, opts.Offset, relais.ErrInvalid)
	}
	if opts.Limit == 0 {
		opts.Limit = defaultListLimit
	}
	// Two statements rather than "$1 = '' OR source = $1", which would keep
	// a cached generic plan from using the source index.
	var rows pgx.Rows
	var err error
	if opts.Source == "" {
		rows, err = d.pool.Query(ctx, `SELECT `+articleColumns+` FROM articles ORDER BY id LIMIT $1 OFFSET $2`,
			opts.Limit, opts.Offset)
	} else {
		rows, err = d.pool.Query(ctx, `SELECT `+articleColumns+` FROM articles WHERE source = $1 ORDER BY id LIMIT $2 OFFSET $3`,
			opts.Source, opts.Limit, opts.Offset)
	}
	if err != nil {
		return nil, dbError("list articles", err)
	}
	articles, err := pgx.CollectRows(rows, collectArticle)
	if err != nil {
		return nil, dbError("list articles", err)
	}
	return articles, nil
}

// ArticleHashes maps external id to content hash for the articles of
// source, or of every source when source is "".
func (d *DB) ArticleHashes(ctx context.Context, source string) (map[string]string, error) {
	var rows pgx.Rows
	var err error
	if source == "" {
		rows, err = d.pool.Query(ctx, `SELECT external_id, content_hash FROM articles`)
	} else {
		rows, err = d.pool.Query(ctx, `SELECT external_id, content_hash FROM articles WHERE source = $1`, source)
	}
	if err != nil {
		return nil, dbError(fmt.Sprintf("article hashes of %q", source), err)
	}
	hashes := make(map[string]string)
	var id, hash string
	_, err = pgx.ForEachRow(rows, []any{&id, &hash}, func() error {
		hashes[id] = hash
		return nil
	})
	if err != nil {
		return nil, dbError(fmt.Sprintf("article hashes of %q", source), err)
	}
	return hashes, nil
}

const upsertArticle = `
INSERT INTO articles (external_id, title, body, language, topic, tags, phrasings, source, content_hash,
                      version, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10)
ON CONFLICT (external_id) DO UPDATE SET
    title = excluded.title,
    body = excluded.body,
    language = excluded.language,
    topic = excluded.topic,
    tags = excluded.tags,
    phrasings = excluded.phrasings,
    source = excluded.source,
    content_hash = excluded.content_hash,
    version = articles.version + CASE WHEN articles.content_hash = excluded.content_hash THEN 0 ELSE 1 END,
    updated_at = excluded.updated_at
RETURNING id, version, created_at, updated_at`

const insertChunk = `
INSERT INTO chunks (article_id, ordinal, kind, heading, text, embedding)
VALUES ($1, $2, $3, $4, $5, $6)`

// SaveArticle inserts the article, or replaces the one with the same
// external id, with its chunks, in one transaction. Chunks are numbered by
// their position in chunks. Version is incremented when ContentHash changes.
// An article that breaks knowledge.ValidateArticle, an embedding that does
// not match the recorded space, or any embedding while none is recorded, is
// relais.ErrInvalid.
func (d *DB) SaveArticle(ctx context.Context, a knowledge.Article, chunks []knowledge.Chunk) (knowledge.Article, error) {
	saved, err := d.SaveArticles(ctx, []knowledge.ArticleChunks{{Article: a, Chunks: chunks}})
	if err != nil {
		return knowledge.Article{}, err
	}
	return saved[0], nil
}

// SaveArticles is SaveArticle for each article of batch, in order, in one
// transaction: all are saved or none. It costs two round trips whatever the
// batch's size: the articles' upserts, then each one's chunks deleted and
// inserted again.
func (d *DB) SaveArticles(ctx context.Context, batch []knowledge.ArticleChunks) ([]knowledge.Article, error) {
	defer d.vectors.Invalidate() // after the commit: the next search reads what was written
	op := fmt.Sprintf("save %d articles", len(batch))
	if len(batch) == 1 {
		op = fmt.Sprintf("save article %q", batch[0].Article.ExternalID)
	}
	// inArticle names the article in an error when the batch has several.
	inArticle := func(a knowledge.Article, err error) error {
		if len(batch) > 1 {
			return fmt.Errorf("article %q: %w", a.ExternalID, err)
		}
		return err
	}
	for _, ac := range batch {
		if err := knowledge.ValidateArticle(ac.Article, ac.Chunks); err != nil {
			return nil, fmt.Errorf("%s: %w", op, inArticle(ac.Article, err))
		}
	}
	now := d.now()
	saved := make([]knowledge.Article, len(batch))
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// One look at the space for the whole batch, not one an article.
		if slices.ContainsFunc(batch, func(ac knowledge.ArticleChunks) bool { return hasEmbedding(ac.Chunks) }) {
			dims, err := lockedDimensions(ctx, tx)
			if err != nil {
				return err
			}
			for _, ac := range batch {
				if err := checkLengths(dims, "chunk", ac.Chunks, chunkEmbedding); err != nil {
					return inArticle(ac.Article, err)
				}
			}
		}
		upserts := &pgx.Batch{}
		for i, ac := range batch {
			a := ac.Article
			saved[i] = a
			upserts.Queue(upsertArticle, a.ExternalID, a.Title, a.Body, a.Language, a.Topic,
				nonNil(a.Tags), nonNil(a.Phrasings), a.Source, a.ContentHash, now).QueryRow(func(row pgx.Row) error {
				return row.Scan(&saved[i].ID, &saved[i].Version, &saved[i].CreatedAt, &saved[i].UpdatedAt)
			})
		}
		if err := tx.SendBatch(ctx, upserts).Close(); err != nil {
			return err
		}
		// Chunks are deleted and inserted article by article, in order, so
		// that an article given twice ends as its last save left it.
		chunks := &pgx.Batch{}
		for i, ac := range batch {
			chunks.Queue(`DELETE FROM chunks WHERE article_id = $1`, saved[i].ID)
			for j, c := range ac.Chunks {
				chunks.Queue(insertChunk, saved[i].ID, j, string(c.Kind), c.Heading, c.Text, vectorArg(c.Embedding))
			}
		}
		return tx.SendBatch(ctx, chunks).Close()
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	return saved, nil
}

// lockedDimensions reads the recorded space's dimensions and holds the row
// (FOR SHARE) until the transaction ends, so that a concurrent
// ResetEmbeddingSpace waits rather than change the space under the caller.
// No recorded space is relais.ErrInvalid: embeddings cannot be stored
// before there is one.
func lockedDimensions(ctx context.Context, tx pgx.Tx) (int, error) {
	var dims int
	err := tx.QueryRow(ctx, `SELECT dimensions FROM embedding_space FOR SHARE`).Scan(&dims)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("no embedding space is recorded (SetEmbeddingSpace first): %w", relais.ErrInvalid)
	}
	return dims, err
}

// checkDimensions checks the length of each item's embedding, for the
// items that have one, against the recorded space, which it locks with
// lockedDimensions; without any embedding it reads and locks nothing. noun
// names an item, by its index, in errors.
func checkDimensions[T any](ctx context.Context, tx pgx.Tx, noun string, items []T, embedding func(T) []float32) error {
	if !slices.ContainsFunc(items, func(it T) bool { return embedding(it) != nil }) {
		return nil
	}
	dims, err := lockedDimensions(ctx, tx)
	if err != nil {
		return err
	}
	return checkLengths(dims, noun, items, embedding)
}

// checkLengths checks the length of each item's embedding, for the items
// that have one, against dims.
func checkLengths[T any](dims int, noun string, items []T, embedding func(T) []float32) error {
	for i, it := range items {
		if v := embedding(it); v != nil && len(v) != dims {
			return fmt.Errorf("%s %d: embedding has %d dimensions, the store's space %d: %w",
				noun, i, len(v), dims, relais.ErrInvalid)
		}
	}
	return nil
}

func chunkEmbedding(c knowledge.Chunk) []float32 { return c.Embedding }

func hasEmbedding(chunks []knowledge.Chunk) bool {
	return slices.ContainsFunc(chunks, func(c knowledge.Chunk) bool { return c.Embedding != nil })
}

func vectorArg(v []float32) any {
	if v == nil {
		return nil
	}
	return pgvector.NewVector(v)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// DeleteArticle removes an article and, by cascade, its chunks;
// relais.ErrNotFound if none.
func (d *DB) DeleteArticle(ctx context.Context, id int64) error {
	defer d.vectors.Invalidate() // after the commit: the next search reads what was written
	tag, err := d.pool.Exec(ctx, `DELETE FROM articles WHERE id = $1`, id)
	if err != nil {
		return dbError(fmt.Sprintf("delete article %d", id), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete article %d: %w", id, relais.ErrNotFound)
	}
	return nil
}

// PruneSource deletes the articles of source whose external id is not in
// keep and returns how many. An empty source is relais.ErrInvalid: it must
// not be read as "every source".
func (d *DB) PruneSource(ctx context.Context, source string, keep []string) (int, error) {
	defer d.vectors.Invalidate() // after the commit: the next search reads what was written
	if source == "" {
		return 0, fmt.Errorf("prune source: empty source: %w", relais.ErrInvalid)
	}
	// nonNil: NOT (x = ANY(NULL)) is NULL, which would keep everything.
	tag, err := d.pool.Exec(ctx, `DELETE FROM articles WHERE source = $1 AND NOT (external_id = ANY($2))`,
		source, nonNil(keep))
	if err != nil {
		return 0, dbError(fmt.Sprintf("prune source %q", source), err)
	}
	return int(tag.RowsAffected()), nil
}

// Chunks returns an article's chunks in order, without embeddings;
// relais.ErrNotFound if the article does not exist.
func (d *DB) Chunks(ctx context.Context, articleID int64) ([]knowledge.Chunk, error) {
	op := fmt.Sprintf("chunks of article %d", articleID)
	// The join tells "no such article" (no row) from "no chunks" (one row
	// of NULLs) in one round trip.
	rows, err := d.pool.Query(ctx, `
SELECT c.id, c.ordinal, c.kind, c.heading, c.text
FROM articles a LEFT JOIN chunks c ON c.article_id = a.id
WHERE a.id = $1
ORDER BY c.ordinal`, articleID)
	if err != nil {
		return nil, dbError(op, err)
	}
	found := false
	chunks := []knowledge.Chunk{}
	var (
		id, ordinal         *int64
		kind, heading, text *string
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &ordinal, &kind, &heading, &text}, func() error {
		found = true
		if id != nil {
			chunks = append(chunks, knowledge.Chunk{ID: *id, ArticleID: articleID, Ordinal: int(*ordinal),
				Kind: knowledge.ChunkKind(*kind), Heading: *heading, Text: *text})
		}
		return nil
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	if !found {
		return nil, fmt.Errorf("%s: %w", op, relais.ErrNotFound)
	}
	return chunks, nil
}

// Stats counts articles and chunks, and the chunks still missing an
// embedding.
func (d *DB) Stats(ctx context.Context) (knowledge.Stats, error) {
	var s knowledge.Stats
	err := d.pool.QueryRow(ctx, `
SELECT (SELECT count(*) FROM articles),
       (SELECT count(*) FROM chunks),
       (SELECT count(*) FROM chunks WHERE embedding IS NULL)`).
		Scan(&s.Articles, &s.Chunks, &s.ChunksMissingVector)
	if err != nil {
		return knowledge.Stats{}, dbError("knowledge stats", err)
	}
	return s, nil
}
