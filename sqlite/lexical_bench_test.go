package sqlite

import (
	"context"
	"testing"

	"github.com/relais-ai/relais/internal/benchcorpus"
)

// BenchmarkTextSearch measures the full-text side of SearchChunks over a
// generated knowledge base (benchcorpus.NewKB; 100k chunks unless
// RELAIS_BENCH_CHUNKS says otherwise) and 100 questions; see
// benchcorpus.KB.ReportRanking for what it reports.
//
//	go test -run '^$' -bench TextSearch -benchtime 1x ./sqlite/
func BenchmarkTextSearch(b *testing.B) {
	ctx := context.Background()
	db := openTestDB(b)
	kb := benchcorpus.NewKB(11, benchcorpus.Chunks(b, 100_000), 100)
	if err := kb.Load(ctx, db); err != nil {
		b.Fatal(err)
	}
	kb.BenchTextSearch(b, db)
}
