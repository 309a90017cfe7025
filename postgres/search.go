package postgres

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/internal/vecindex"
	"github.com/relais-ai/relais/knowledge"
)

const (
	// defaultSearchLimit is the list length when a query asks for none.
	defaultSearchLimit = 50
	// maxSearchLimit bounds the lists a search returns.
	maxSearchLimit = 1000
	// maxTermBytes drops "words" no dictionary holds (a pasted token, a
	// hash); PostgreSQL rejects tsquery words over 2047 bytes.
	maxTermBytes = 100
)

// vectorCandidates reads the candidates of the vector ranking ($1, from the
// in-memory index), which the search scores exactly (vector.go): with
// their stored vectors in place of %s (", embedding") when the index keeps
// none of its own (vecindex.MaxUnitVectorBytes). A candidate deleted since
// the index was loaded is not found and drops out.
const vectorCandidates = `
SELECT id, article_id, kind, text%s
FROM chunks
WHERE id = ANY($1) AND embedding IS NOT NULL`

// tsquery is the SQL of the tsquery of the terms in the text[] parameter
// terms (quoted for to_tsquery) joined by the operator op ('|' or '&'), in
// the query language's configuration l.cfg, or, for rows indexed without
// stemming, as written ('simple'). Terms that are stop words in the query
// language are left out of the 'simple' side, or "how do I" would match
// every unstemmed row.
func tsquery(terms, op string) string {
	return `(to_tsquery(l.cfg, array_to_string(` + terms + `::text[], ` + op + `))
        || coalesce(to_tsquery('simple', (
               SELECT string_agg(t, ` + op + `) FROM unnest(` + terms + `::text[]) AS t
               WHERE l.cfg <> 'simple'::regconfig AND numnode(to_tsquery(l.cfg, t)) > 0
           )), ''::tsquery))`
}

// termMatches counts, for each term of $2 in the configuration $1, the
// chunks it matches, up to $3: knowledge.LexicalTerms chooses the terms of
// the ranking from these counts. A stop word matches nothing.
const termMatches = `
SELECT CASE WHEN numnode(w.query) = 0 THEN 0 ELSE (
           SELECT count(*) FROM (SELECT 1 FROM chunks AS c WHERE c.tsv @@ w.query LIMIT $3) AS m
       ) END
FROM (
    SELECT u.ord, to_tsquery(l.cfg, u.t) || CASE WHEN numnode(to_tsquery(l.cfg, u.t)) > 0
                                             THEN to_tsquery('simple', u.t) ELSE ''::tsquery END AS query
    FROM unnest($2::text[]) WITH ORDINALITY AS u(t, ord), (SELECT $1::regconfig AS cfg) AS l
) AS w
ORDER BY w.ord`

// textSearch ranks by the terms $2 (in the configuration $1) the chunks
// holding the terms $4 joined by $5 (knowledge.LexicalTerms' choice), at
// most $6 of them (knowledge.MaxTextCandidates) in storage order when more
// match. OFFSET 0 keeps q a one-row subquery: built once, then used as the
// parameter of the GIN index scan, instead of being rebuilt for every row
// that ts_rank scores.
//
// The rank is ts_rank, not ts_rank_cd: on an OR query every occurrence of
// any term is a cover of its own for ts_rank_cd, so a passage repeating one
// term outranks one holding every term; ts_rank gives repeats diminishing
// weight and rewards covering more of the question.
var textSearch = `
SELECT c.id, c.article_id, c.kind, c.text, ts_rank(c.tsv, q.query)::float8 AS score
FROM (
    SELECT ` + tsquery("$2", "' | '") + ` AS query, ` + tsquery("$4", "$5") + ` AS filter
    FROM (SELECT $1::regconfig AS cfg) AS l
    OFFSET 0
) AS q
CROSS JOIN LATERAL (SELECT * FROM chunks AS c WHERE c.tsv @@ q.filter LIMIT $6) AS c
ORDER BY score DESC, c.id
LIMIT $3`

// exampleVectorCandidates and exampleTextSearch are vectorCandidates and
// textSearch over the examples, for the same reasons written the same way;
// the examples are few beside the chunks, and every term of the question
// selects them.
const exampleVectorCandidates = `
SELECT id, article_id, text%s
FROM examples
WHERE id = ANY($1) AND embedding IS NOT NULL`

var exampleTextSearch = `
SELECT e.id, e.article_id, e.text, ts_rank(e.tsv, q.query)::float8 AS score
FROM (SELECT ` + tsquery("$2", "' | '") + ` AS query FROM (SELECT $1::regconfig AS cfg) AS l OFFSET 0) AS q
JOIN examples AS e ON e.tsv @@ q.query
ORDER BY score DESC, e.id
LIMIT $3`

// SearchChunks ranks the chunks by vector and by full text, and with
// q.ExampleLimit > 0 the examples the same two ways: the vector candidates
// come from the in-memory index (vector.go), and reading them with their
// texts, and the full-text rankings, take one round trip. A query vector of
// the wrong dimension is relais.ErrInvalid, and so is a negative Limit or
// ExampleLimit, or one over 1000; Limit 0 means 50, ExampleLimit 0 no
// example lists. The zero vector gives no vector lists, as no vector does.
// An example whose article was removed keeps its label in the results: the
// caller decides what an unknown article means.
func (d *DB) SearchChunks(ctx context.Context, q knowledge.ChunkQuery) (knowledge.ChunkResults, error) {
	var res knowledge.ChunkResults
	limit, err := searchLimit(q)
	if err != nil {
		return res, err
	}
	vector := searchVector(q.Vector)
	terms := queryTerms(q.Text)
	if vector == nil && len(terms) == 0 {
		return res, nil
	}
	// The vector candidates (a scan in Go) are found while the server
	// counts the terms' matches.
	var vs vectorSearch
	var vectorErr error
	vectorDone := make(chan struct{})
	go func() {
		defer close(vectorDone)
		if vector != nil {
			vs, vectorErr = d.vectorSearch(ctx, vector, limit, q.ExampleLimit)
		}
	}()
	cfg := knowledge.TextSearchConfig(q.Language)
	matches, err := d.termMatches(ctx, cfg, terms)
	<-vectorDone
	if vectorErr != nil {
		return knowledge.ChunkResults{}, fmt.Errorf("search chunks: %w", vectorErr)
	}
	if err != nil {
		return knowledge.ChunkResults{}, dbError("search chunks", err)
	}

	// Settings made with SET LOCAL need a transaction; queued in the batch,
	// BEGIN and COMMIT cost no round trip of their own.
	b := &pgx.Batch{}
	b.Queue(`BEGIN READ ONLY`)
	queueSearchSettings(b)
	queueChunkSearches(b, &res, vs, cfg, terms, matches, limit)
	queueExampleSearches(b, &res, vs, cfg, terms, q.ExampleLimit)
	b.Queue(`COMMIT`)
	if err := d.pool.SendBatch(ctx, b).Close(); err != nil {
		return knowledge.ChunkResults{}, dbError("search chunks", err)
	}
	return res, nil
}

// vectorSearch is the vector side of a search: the query, and the
// candidates the in-memory index found for it, which the search ranks
// exactly once it has read their vectors. No candidates when the store has
// no embedding space yet.
type vectorSearch struct {
	query                  vecindex.Query
	chunks, examples       []int64
	chunkRows, exampleRows *vecindex.Rows // the snapshot's, for the vectors it keeps
	limit, exampleLimit    int
}

// vectorSearch finds the candidates of vector: rerank pools of the limits.
func (d *DB) vectorSearch(ctx context.Context, vector []float32, limit, exampleLimit int) (vectorSearch, error) {
	snap, err := d.vectors.Current(ctx)
	if err != nil || snap.Dims == 0 {
		return vectorSearch{}, err
	}
	if len(vector) != snap.Dims {
		return vectorSearch{}, fmt.Errorf("query vector has %d dimensions, the store's space %d: %w", len(vector), snap.Dims, relais.ErrInvalid)
	}
	query, ok := vecindex.NewQuery(vector)
	if !ok {
		return vectorSearch{}, nil // no direction (searchVector let no zero vector through; a NaN has none either)
	}
	vs := vectorSearch{query: query, limit: limit, exampleLimit: exampleLimit, chunkRows: &snap.Chunks, exampleRows: &snap.Examples}
	vs.chunks = snap.Chunks.Search(query, limit)
	if exampleLimit > 0 {
		vs.examples = snap.Examples.Search(query, exampleLimit)
	}
	return vs, nil
}

// candidatesQuery is query (vectorCandidates or exampleVectorCandidates)
// for the candidates of rows: without the stored vectors when rows keep
// them.
func candidatesQuery(query string, rows *vecindex.Rows) string {
	if rows.HasVectors() {
		return fmt.Sprintf(query, "")
	}
	return fmt.Sprintf(query, ", embedding")
}

// rankExactly scores the candidates that rows (of a candidatesQuery for
// keep) holds with the query (vecindex.Rows.Score), and returns the best
// limit, best first, ties by id. scan reads a match's columns, and passes
// nil for the stored vector (the last column) when the query reads it;
// field gives a match's id and score.
func rankExactly[M any](rows pgx.Rows, query vecindex.Query, keep *vecindex.Rows, limit int,
	scan func(r pgx.Rows, withVector bool) (M, error), field func(*M) (*int64, *float64)) ([]M, error) {
	readVector := !keep.HasVectors()
	var ranking vecindex.Ranking[M]
	var buf []float32
	for rows.Next() {
		m, err := scan(rows, readVector)
		if err != nil {
			return nil, err
		}
		var stored []float32
		if readVector {
			if buf, err = decodeVector(buf[:0], rows, len(rows.FieldDescriptions())-1); err != nil {
				return nil, err
			}
			stored = buf
		}
		id, score := field(&m)
		var ok bool
		if *score, ok = keep.Score(query, *id, stored); ok {
			ranking.Add(m, *id, *score)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return ranking.Best(limit), nil
}

// withVector is the scan destinations dest, then nil (the stored vector,
// read by rankExactly) when the row has it.
func withVector(vector bool, dest ...any) []any {
	if vector {
		dest = append(dest, nil)
	}
	return dest
}

// searchLimit is the chunk list length q asks for, checking both of its
// limits.
func searchLimit(q knowledge.ChunkQuery) (int, error) {
	limit := q.Limit
	switch {
	case limit == 0:
		limit = defaultSearchLimit
	case limit < 0 || limit > maxSearchLimit:
		return 0, fmt.Errorf("search chunks: limit %d, want 1 to %d: %w", q.Limit, maxSearchLimit, relais.ErrInvalid)
	}
	if q.ExampleLimit < 0 || q.ExampleLimit > maxSearchLimit {
		return 0, fmt.Errorf("search chunks: example limit %d, want 0 to %d: %w", q.ExampleLimit, maxSearchLimit, relais.ErrInvalid)
	}
	return limit, nil
}

// searchVector is the vector to rank by, nil for none.
func searchVector(vector []float32) []float32 {
	if knowledge.ZeroVector(vector) {
		// The zero vector (a message of no word the embedder knows) has no
		// direction: pgvector's cosine distance to it is NaN, which would
		// rank every row at random with a NaN score. No vector ranking,
		// then, as the embedded store does.
		return nil
	}
	return vector
}

// queueChunkSearches queues the vector ranking of the chunks, when there is
// a vector, and their text ranking, when knowledge.LexicalTerms keeps any
// of the terms; each fills its list of res.
func queueChunkSearches(b *pgx.Batch, res *knowledge.ChunkResults, vs vectorSearch, cfg string, terms []string, matches []int, limit int) {
	if len(vs.chunks) > 0 {
		b.Queue(candidatesQuery(vectorCandidates, vs.chunkRows), vs.chunks).Query(func(rows pgx.Rows) error {
			var err error
			res.Vector, err = rankExactly(rows, vs.query, vs.chunkRows, vs.limit, func(r pgx.Rows, vector bool) (knowledge.ChunkMatch, error) {
				var m knowledge.ChunkMatch
				var kind string
				err := r.Scan(withVector(vector, &m.ChunkID, &m.ArticleID, &kind, &m.Text)...)
				m.Kind = knowledge.ChunkKind(kind)
				return m, err
			}, func(m *knowledge.ChunkMatch) (*int64, *float64) { return &m.ChunkID, &m.Score })
			return err
		})
	}
	if use, and := knowledge.LexicalTerms(matches); len(use) > 0 {
		chosen := make([]string, len(use))
		for i, j := range use {
			chosen[i] = terms[j]
		}
		op := " | "
		if and {
			op = " & "
		}
		b.Queue(textSearch, cfg, terms, limit, chosen, op, knowledge.MaxTextCandidates).Query(func(rows pgx.Rows) error {
			var err error
			res.Text, err = pgx.CollectRows(rows, scanMatch)
			return err
		})
	}
}

// queueExampleSearches queues the vector and the text ranking of the
// examples, for an exampleLimit > 0; each fills its list of res.
func queueExampleSearches(b *pgx.Batch, res *knowledge.ChunkResults, vs vectorSearch, cfg string, terms []string, exampleLimit int) {
	if exampleLimit > 0 && len(vs.examples) > 0 {
		b.Queue(candidatesQuery(exampleVectorCandidates, vs.exampleRows), vs.examples).Query(func(rows pgx.Rows) error {
			var err error
			res.ExampleVector, err = rankExactly(rows, vs.query, vs.exampleRows, vs.exampleLimit, func(r pgx.Rows, vector bool) (knowledge.ExampleMatch, error) {
				var m knowledge.ExampleMatch
				err := r.Scan(withVector(vector, &m.ExampleID, &m.ArticleID, &m.Text)...)
				return m, err
			}, func(m *knowledge.ExampleMatch) (*int64, *float64) { return &m.ExampleID, &m.Score })
			return err
		})
	}
	// The examples are few beside the chunks (one a labelled question):
	// every word of the question selects them.
	if exampleLimit > 0 && len(terms) > 0 {
		b.Queue(exampleTextSearch, cfg, terms, exampleLimit).Query(func(rows pgx.Rows) error {
			var err error
			res.ExampleText, err = pgx.CollectRows(rows, scanExampleMatch)
			return err
		})
	}
}

// queueSearchSettings queues the transaction's settings for the full-text
// side of a search.
//
// enable_seqscan=off: the term counts' query is a parameter of each row,
// which the planner cannot estimate, and a sequential scan until LIMIT
// reads the whole table for a rare term. The setting only penalises
// sequential scans, so a query no index serves still runs. It lasts until
// COMMIT.
//
// The plans may be generic: pgx prepares and caches statements, and after
// five runs PostgreSQL may keep a plan that does not know the parameters.
// No plan knows the terms' rarity anyway (the tsqueries are built in a
// one-row subquery), and with sequential scans off a generic plan reads the
// GIN index as a custom one does (TestSearchUsesIndexes checks both).
// Forcing custom plans cost a planning on every search: at 1k chunks under
// 8 clients, planning was a fifth of the search statements' time, and
// decisions/s over HTTP were 234-246 with it against 269-306 without.
func queueSearchSettings(b *pgx.Batch) {
	b.Queue(`SELECT set_config('enable_seqscan', 'off', true)`)
}

// termMatches returns, for each term, how many chunks it matches in the
// configuration cfg, counted up to one past knowledge.CommonTermChunks:
// from those remembered (knowledge.TermCountTTL), and in one round trip for
// the others.
func (d *DB) termMatches(ctx context.Context, cfg string, terms []string) ([]int, error) {
	matches := make([]int, len(terms))
	var uncounted []int
	for i, t := range terms {
		n, ok := d.terms.Get(cfg + " " + t)
		if !ok {
			uncounted = append(uncounted, i)
		}
		matches[i] = n
	}
	if len(uncounted) == 0 {
		return matches, nil
	}
	words := make([]string, len(uncounted))
	for i, j := range uncounted {
		words[i] = terms[j]
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN READ ONLY`)
	queueSearchSettings(b)
	b.Queue(termMatches, cfg, words, knowledge.CommonTermChunks+1).Query(func(rows pgx.Rows) error {
		counts, err := pgx.CollectRows(rows, pgx.RowTo[int])
		for i, n := range counts {
			matches[uncounted[i]] = n
			d.terms.Put(cfg+" "+words[i], n)
		}
		return err
	})
	b.Queue(`COMMIT`)
	return matches, d.pool.SendBatch(ctx, b).Close()
}

func scanMatch(row pgx.CollectableRow) (knowledge.ChunkMatch, error) {
	var m knowledge.ChunkMatch
	var kind string
	err := row.Scan(&m.ChunkID, &m.ArticleID, &kind, &m.Text, &m.Score)
	m.Kind = knowledge.ChunkKind(kind)
	return m, err
}

func scanExampleMatch(row pgx.CollectableRow) (knowledge.ExampleMatch, error) {
	var m knowledge.ExampleMatch
	err := row.Scan(&m.ExampleID, &m.ArticleID, &m.Text, &m.Score)
	return m, err
}

// queryTerms splits a customer's text into distinct lowercased words (runs
// of letters and digits), each quoted for to_tsquery. Everything else,
// including every character tsquery gives a meaning to (& | ! ( ) : * < >
// and quotes), separates words, so no user text reaches tsquery as syntax.
func queryTerms(text string) []string {
	var terms []string
	seen := make(map[string]bool)
	for _, word := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
	}) {
		if seen[word] || len(word) > maxTermBytes {
			continue
		}
		seen[word] = true
		terms = append(terms, quoteTerm(word))
		if len(terms) == knowledge.MaxQueryTerms {
			break
		}
	}
	return terms
}

// quoteTerm makes word one tsquery operand. Words from queryTerms hold no
// quote or backslash; escaping them anyway keeps the function safe on its
// own.
func quoteTerm(word string) string {
	word = strings.ReplaceAll(word, `\`, `\\`)
	word = strings.ReplaceAll(word, `'`, `''`)
	return "'" + word + "'"
}
