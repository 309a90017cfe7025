package sqlite

import (
	"context"
	"strings"
	"testing"

	"github.com/relais-ai/relais/internal/benchcorpus"
	"github.com/relais-ai/relais/knowledge"
)

// everyWordSearch is the full-text ranking before knowledge.LexicalTerms:
// every match of any word of the question ranked by bm25.
const everyWordSearch = `SELECT c.id, c.article_id, c.kind, c.text, -f.rank
	FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank, rowid LIMIT ?) AS f
	JOIN chunks c ON c.id = f.rowid
	ORDER BY f.rank, c.id`

// BenchmarkTextSearch compares, on the same store, the full-text ranking of
// every match of any word of a question with the bounded one SearchChunks
// runs (knowledge.LexicalTerms), over a generated knowledge base
// (benchcorpus.NewKB; 100k chunks unless RELAIS_BENCH_CHUNKS says
// otherwise) and 100 questions; see benchcorpus.KB.ReportRanking for what
// it reports.
//
//	go test -run '^$' -bench TextSearch -benchtime 1x ./sqlite/
func BenchmarkTextSearch(b *testing.B) {
	ctx := context.Background()
	db := openTestDB(b)
	kb := benchcorpus.NewKB(11, benchcorpus.Chunks(b, 100_000), 100)
	if err := kb.Load(ctx, db); err != nil {
		b.Fatal(err)
	}
	everyWord := func(q string) []knowledge.ChunkMatch {
		terms := ftsTerms(q, knowledge.English)
		if len(terms) == 0 {
			return nil
		}
		ms, err := collectRows(ctx, db.reader, func(r rowScanner) (knowledge.ChunkMatch, error) {
			var m knowledge.ChunkMatch
			var kind string
			err := r.Scan(&m.ChunkID, &m.ArticleID, &kind, &m.Text, &m.Score)
			return m, err
		}, everyWordSearch, strings.Join(terms, " OR "), 50)
		if err != nil {
			b.Fatal(err)
		}
		return ms
	}
	kb.CompareTextSearch(b, db, everyWord)
}
