package postgres

import (
	"context"
	"testing"

	"github.com/relais-ai/relais/internal/benchcorpus"
	"github.com/relais-ai/relais/internal/testdb"
)

// BenchmarkTextSearch is sqlite's BenchmarkTextSearch on PostgreSQL: the
// full-text side of SearchChunks on a generated knowledge base (100k chunks
// unless RELAIS_BENCH_CHUNKS says otherwise).
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
	kb.BenchTextSearch(b, db)
}
