package main

import (
	"context"
	"strings"
	"testing"

	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/sqlite"
)

// TestServeDemoReembedsAnOlderOfflineStore: a data directory embedded by
// an earlier version of the offline embedder stops serve with the way out,
// except for --demo, which re-embeds it and starts.
func TestServeDemoReembedsAnOlderOfflineStore(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	db, err := sqlite.Open(t.Context(), c.env["RELAIS_DATA_DIR"], nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetEmbeddingSpace(t.Context(), knowledge.EmbeddingSpace{Model: "relais-hashing-v1", Dimensions: 1024}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, _, err := c.run(context.Background(), "ask", "where is my parcel"); err == nil || !strings.Contains(err.Error(), "relais ingest --reembed") {
		t.Errorf("ask on an older store: %v, want the re-embed advice", err)
	}
	base := startServe(t, c, "--demo") // fails the test unless serve comes up
	api := apiClient{t: t, base: base, token: testToken}
	if status, v := api.json("POST", "/v1/messages", map[string]any{"customer_id": "c1", "text": "I forgot my password"}); status != 200 || v["action"] != "answer" {
		t.Errorf("the demo after re-embedding: %d %v", status, v)
	}
}
