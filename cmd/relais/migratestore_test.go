package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/sqlite"
	"github.com/relais-ai/relais/transfer"
)

// TestMigrateStoreRoundTrip fills an embedded store the way a shop does
// (articles, labelled examples and a calibration, API tokens, customers'
// conversations with decisions and a ticket), moves it to PostgreSQL and
// from there to a second embedded store, and checks that every table
// arrives whole, row for row and value for value, and that the moved
// stores still answer.
func TestMigrateStoreRoundTrip(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	ingestFAQ(t, c)
	dir := t.TempDir()
	writeFile(t, dir, "examples.csv", syntheticFAQExamples())
	if out := c.mustRun("ingest", "--examples", filepath.Join(dir, "examples.csv")); !strings.Contains(out, "calibrated on") {
		t.Fatalf("ingest --examples did not calibrate:\n%s", out)
	}
	c.mustRun("token", "create", "--role", "agent", "--name", "ana")
	base := startServe(t, c)
	api := apiClient{t: t, base: base, token: testToken}
	for _, m := range []map[string]any{
		{"customer_id": "c1", "text": "How do I cancel my order?"},
		{"customer_id": "c2", "text": "I want to talk to a real person"},
		{"customer_id": "c3", "text": "bonjour"},
	} {
		if status, v := api.json("POST", "/v1/messages", m); status != http.StatusOK {
			t.Fatalf("message %v: %d %v", m, status, v)
		}
	}
	from := c.env["RELAIS_DATA_DIR"]
	want := dumpEmbedded(t, from)
	for _, table := range []string{"articles", "chunks", "examples", "calibrations", "api_tokens", "conversations", "messages", "decisions", "handoff_tickets", "transitions"} {
		if len(want[table]) == 0 {
			t.Errorf("the source has no %s: the round trip would not test them", table)
		}
	}

	pg := testdb.NewDatabase(t)
	out := c.mustRun("migrate-store", "--from", from, "--to", pg, "--batch", "7")
	for _, tab := range transfer.Tables {
		if !strings.Contains(out, fmt.Sprintf("%s  ", tab.Name)) {
			t.Errorf("the report lacks %s:\n%s", tab.Name, out)
		}
	}
	if !strings.Contains(out, "the counts match") || strings.Contains(out, "postgres://") {
		t.Errorf("report:\n%s", out)
	}

	// The moved store works: it finds the article and decides on it.
	onPG := &cli{t: t, env: map[string]string{"RELAIS_LOG_LEVEL": "warn", "RELAIS_DATABASE_URL": pg}}
	if out := onPG.mustRun("ask", "--json", "How do I cancel my order?"); !strings.Contains(out, "faq.csv#how-do-i-cancel-my-order") {
		t.Errorf("ask on the moved store:\n%s", out)
	}
	// New rows on the moved store get ids past the copied ones.
	onPG.mustRun("token", "create", "--role", "agent", "--name", "bob")

	back := t.TempDir()
	c.mustRun("migrate-store", "--from", pg, "--to", back)
	got := dumpEmbedded(t, back)
	// Bob's token was created on PostgreSQL after the first move.
	if n := len(got["api_tokens"]); n != len(want["api_tokens"])+1 {
		t.Errorf("api_tokens back: %d rows, want %d", n, len(want["api_tokens"])+1)
	} else {
		got["api_tokens"] = got["api_tokens"][:n-1]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("embedded → PostgreSQL → embedded changed rows (-want +got):\n%s", diff)
	}
	onBack := &cli{t: t, env: map[string]string{"RELAIS_LOG_LEVEL": "warn", "RELAIS_DATA_DIR": back}}
	if out := onBack.mustRun("ask", "--json", "where is my parcel"); !strings.Contains(out, "faq.csv#where-is-my-parcel") {
		t.Errorf("ask on the store moved back:\n%s", out)
	}

	// A store in use is never a target: two shops' ids would mix.
	_, errOut, err := c.run(context.Background(), "migrate-store", "--from", from, "--to", pg)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("into a non-empty store: %v\n%s", err, errOut)
	}
	for _, args := range [][]string{
		{"migrate-store", "--from", from},
		{"migrate-store", "--from", from, "--to", from},
	} {
		if _, _, err := c.run(context.Background(), args...); err == nil {
			t.Errorf("relais %s: no error", strings.Join(args, " "))
		}
	}
}

// dumpEmbedded reads every table of the embedded store in dir, JSON
// values normalised (PostgreSQL's jsonb keeps the meaning, not the text).
func dumpEmbedded(t *testing.T, dir string) map[string][]transfer.Row {
	t.Helper()
	db, err := sqlite.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := make(map[string][]transfer.Row)
	for _, tab := range transfer.Tables {
		err := db.ExportRows(t.Context(), tab, func(r transfer.Row) error {
			for i, col := range tab.Columns {
				if raw, ok := r[i].(json.RawMessage); ok && col.Kind == transfer.JSON {
					var v any
					if err := json.Unmarshal(raw, &v); err != nil {
						return err
					}
					r[i] = v
				}
			}
			out[tab.Name] = append(out[tab.Name], r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// syntheticFAQExamples labels 120 customer phrasings with the test FAQ's
// articles, and some with handoff, enough to calibrate on.
func syntheticFAQExamples() string {
	var b strings.Builder
	b.WriteString("question,article_id\n")
	topics := []struct {
		id    string
		verbs []string
		nouns []string
	}{
		{"faq.csv#how-do-i-cancel-my-order", []string{"cancel", "stop", "annul", "call off", "undo"}, []string{"my order", "the purchase", "this order", "my basket order", "the order I placed", "an order", "my last order", "the new order"}},
		{"faq.csv#how-do-i-reset-my-password", []string{"reset", "change", "recover", "renew", "replace"}, []string{"my password", "the password", "my login password", "a forgotten password", "my account password", "the sign in password", "my old password", "the web password"}},
		{"faq.csv#where-is-my-parcel", []string{"track", "find", "locate", "follow", "trace"}, []string{"my parcel", "the parcel", "my delivery", "the package", "my shipment", "the delivery", "my package", "the shipment"}},
	}
	for _, tp := range topics {
		for i, v := range tp.verbs {
			for j, n := range tp.nouns {
				if (i+j)%5 == 0 {
					continue
				}
				fmt.Fprintf(&b, "how can I %s %s,%s\n", v, n, tp.id)
			}
		}
	}
	for _, q := range []string{"my card was stolen", "I want to complain about your staff", "your website is broken", "I need to speak with a manager", "my account was hacked", "legal action about my contract"} {
		fmt.Fprintf(&b, "%s,handoff\n", q)
	}
	return b.String()
}
