package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/internal/benchcorpus"
	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/knowledge"
)

// everyWordSearch is the full-text ranking before knowledge.LexicalTerms:
// every chunk holding any term of $2 ranked by ts_rank.
var everyWordSearch = `
SELECT c.id, c.article_id, c.kind, c.text, ts_rank(c.tsv, q.query)::float8 AS score
FROM (SELECT ` + tsquery("$2", "' | '") + ` AS query FROM (SELECT $1::regconfig AS cfg) AS l OFFSET 0) AS q
JOIN chunks AS c ON c.tsv @@ q.query
ORDER BY score DESC, c.id
LIMIT $3`

// BenchmarkTextSearch is sqlite's BenchmarkTextSearch on PostgreSQL: the
// ranking of every match of any word of a question against the bounded one
// SearchChunks runs, on a generated knowledge base (100k chunks unless
// RELAIS_BENCH_CHUNKS says otherwise).
//
//	go test -run '^$' -bench TextSearch -benchtime 1x -timeout 30m ./postgres/
func BenchmarkTextSearch(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, testdb.NewDatabase(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	kb := benchcorpus.NewKB(11, benchcorpus.Chunks(b, 100_000), 100)
	if err := kb.Load(ctx, db); err != nil {
		b.Fatal(err)
	}
	if _, err := db.pool.Exec(ctx, `VACUUM ANALYZE chunks`); err != nil {
		b.Fatal(err)
	}
	everyWord := func(q string) []knowledge.ChunkMatch {
		terms := queryTerms(q)
		if len(terms) == 0 {
			return nil
		}
		rows, err := db.pool.Query(ctx, everyWordSearch, knowledge.TextSearchConfig(knowledge.English), terms, 50)
		if err != nil {
			b.Fatal(err)
		}
		ms, err := pgx.CollectRows(rows, scanMatch)
		if err != nil {
			b.Fatal(err)
		}
		return ms
	}
	kb.CompareTextSearch(b, db, everyWord)
}
