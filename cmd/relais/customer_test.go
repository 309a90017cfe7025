package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

// withStore opens c's store as its commands do, runs fn on it and closes
// it, for a test to set up what no command writes directly.
func withStore(t *testing.T, c *cli, fn func(st store)) {
	t.Helper()
	cfg, err := loadConfig(env{getenv: func(k string) string { return c.env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	st, closeStore, err := openStore(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	fn(st)
}

// A customer id as channels make them: a plus, a space, an at and a colon.
const gdprCustomer = "+33 6 12:34@wa"

// seedCustomer stores a WhatsApp conversation handed off to a person and a
// web chat conversation for gdprCustomer, and a conversation of bob.
func seedCustomer(t *testing.T, st store) {
	t.Helper()
	ctx := t.Context()
	in, err := st.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: gdprCustomer, Text: "my policy is P-4471, cancel it"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendMessage(ctx, conversation.Message{ConversationID: in.Conversation.ID, Role: conversation.Assistant,
		Text: "I am passing you to a colleague."}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Enqueue(ctx, handoff.Ticket{ConversationID: in.Conversation.ID, Queue: "general", Reason: "sensitive_topic",
		Summary: "Customer wants to cancel P-4471", DueAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []conversation.Inbound{
		{Channel: "webchat", CustomerID: gdprCustomer, Text: "hello from the website"},
		{Channel: "whatsapp", CustomerID: "bob", Text: "bob's own question"},
	} {
		if _, err := st.Receive(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCustomerCLI(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		withStore(t, c, func(st store) { seedCustomer(t, st) })

		var data conversation.CustomerData
		if err := json.Unmarshal([]byte(c.mustRun("customer", "export", gdprCustomer)), &data); err != nil {
			t.Fatalf("export is not JSON: %v", err)
		}
		if data.CustomerID != gdprCustomer || len(data.Conversations) != 2 {
			t.Fatalf("export = %+v, want the customer's two conversations", data)
		}
		if hs := data.Conversations[0].Handoffs; len(hs) != 1 || hs[0].Summary != "Customer wants to cancel P-4471" {
			t.Errorf("handoffs of the first conversation = %+v", hs)
		}

		path := filepath.Join(t.TempDir(), "export.json")
		out, errOut, err := c.run(context.Background(), "customer", "export", "--out", path, gdprCustomer)
		if err != nil || out != "" || !strings.Contains(errOut, "wrote 2 conversations to "+path) {
			t.Fatalf("export --out: %v\nstdout: %q\nstderr: %q", err, out, errOut)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("export file mode = %o, want 600: it holds personal data", perm)
		}
		raw, _ := os.ReadFile(path)
		for _, want := range []string{"my policy is P-4471, cancel it", "hello from the website", "I am passing you to a colleague."} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("export file lacks %q", want)
			}
		}
		if strings.Contains(string(raw), "bob's own question") {
			t.Error("export file holds another customer's message")
		}

		const counts = "erased 2 conversations, 3 messages, 1 transitions, 0 decisions, 1 handoffs, 1 outbox entries, 0 draft questions, 0 examples\n"
		if out := c.mustRun("customer", "erase", gdprCustomer); out != counts {
			t.Errorf("erase printed %q, want %q", out, counts)
		}
		out, errOut, err = c.run(context.Background(), "customer", "export", gdprCustomer)
		if err != nil || !strings.Contains(out, `"conversations": []`) || !strings.Contains(errOut, "no conversation") {
			t.Errorf("export after the erasure: %v\nstdout: %s\nstderr: %s", err, out, errOut)
		}
		if out := c.mustRun("customer", "erase", gdprCustomer); !strings.HasPrefix(out, "erased 0 conversations,") {
			t.Errorf("second erase printed %q, want nothing erased", out)
		}
		if err := json.Unmarshal([]byte(c.mustRun("customer", "export", "bob")), &data); err != nil || len(data.Conversations) != 1 {
			t.Errorf("bob's export after the erasure: %+v, %v; want his conversation kept", data, err)
		}
	})
}

func TestCustomerCLIUsage(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	for _, args := range [][]string{
		{"customer"},
		{"customer", "purge", "x"},
		{"customer", "erase"},
		{"customer", "erase", ""},
		{"customer", "erase", "  "},
		{"customer", "erase", "a", "b"},
		// Flags after the id are refused, not ignored: this erase must
		// not run on the default store.
		{"customer", "erase", "alice", "--database-url", "postgres://elsewhere/db"},
		{"customer", "export", "--out"},
	} {
		_, _, err := c.run(context.Background(), args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("relais %q: %v, want a usage error", args, err)
		}
	}
	if _, _, err := c.run(context.Background(), "customer", "export", "-h"); err != nil {
		t.Errorf("customer export -h: %v", err)
	}
}

func TestServeCustomerAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		withStore(t, c, func(st store) { seedCustomer(t, st) })
		agent := apiClient{t: t, token: createToken(t, c, "agent", "ana")}
		editor := apiClient{t: t, token: createToken(t, c, "editor", "ed")}
		base := startServe(t, c)
		agent.base, editor.base = base, base
		admin := apiClient{t: t, base: base, token: testToken}
		anonymous := apiClient{t: t, base: base}
		exportPath := "/v1/customers/" + url.PathEscape(gdprCustomer) + "/export"
		erasePath := "/v1/customers/" + url.PathEscape(gdprCustomer)

		for _, tt := range []struct {
			who    apiClient
			status int
		}{{anonymous, http.StatusUnauthorized}, {agent, http.StatusForbidden}, {editor, http.StatusForbidden}} {
			for _, method := range []string{"GET", "DELETE"} {
				path := exportPath
				if method == "DELETE" {
					path = erasePath
				}
				if status, v := tt.who.json(method, path, nil); status != tt.status {
					t.Errorf("%s %s as %q: %d %v, want %d", method, path, tt.who.token, status, v, tt.status)
				}
			}
		}

		status, v := admin.json("GET", exportPath, nil)
		convs, _ := v["conversations"].([]any)
		if status != http.StatusOK || v["customer_id"] != gdprCustomer || len(convs) != 2 {
			t.Fatalf("export: %d %v", status, v)
		}
		// The id as a client that escapes everything sends it ('+' as
		// %2B, '@' as %40, ':' as %3A, ' ' as %20).
		escaped := strings.NewReplacer("+", "%2B", "@", "%40", ":", "%3A", " ", "%20").Replace(gdprCustomer)
		if status, v := admin.json("GET", "/v1/customers/"+escaped+"/export", nil); status != http.StatusOK || len(v["conversations"].([]any)) != 2 {
			t.Errorf("export with every character escaped: %d %v", status, v)
		}
		// An id holding an escape sequence of its own is decoded once.
		const percent = "50%2B+off"
		withStore(t, c, func(st store) {
			if _, err := st.Receive(t.Context(), conversation.Inbound{Channel: "api", CustomerID: percent, Text: "hi"}); err != nil {
				t.Fatal(err)
			}
		})
		if status, v := admin.json("GET", "/v1/customers/"+url.PathEscape(percent)+"/export", nil); status != http.StatusOK ||
			v["customer_id"] != percent || len(v["conversations"].([]any)) != 1 {
			t.Errorf("export of %q: %d %v", percent, status, v)
		}
		if status, v := admin.json("GET", "/v1/customers/%20/export", nil); status != http.StatusBadRequest || errorCode(v) != "invalid" {
			t.Errorf("export of a blank id: %d %v", status, v)
		}
		if status, v := admin.json("GET", "/v1/customers/nobody/export", nil); status != http.StatusOK || len(v["conversations"].([]any)) != 0 {
			t.Errorf("export of an unknown customer: %d %v, want 200 and no conversations", status, v)
		}

		status, v = admin.json("DELETE", erasePath, nil)
		erased, _ := v["erased"].(map[string]any)
		if status != http.StatusOK || v["customer_id"] != gdprCustomer || erased["conversations"] != 2.0 || erased["messages"] != 3.0 {
			t.Fatalf("erase: %d %v", status, v)
		}
		if status, v := admin.json("GET", exportPath, nil); status != http.StatusOK || len(v["conversations"].([]any)) != 0 {
			t.Errorf("export after the erasure: %d %v", status, v)
		}
		if status, v := admin.json("DELETE", erasePath, nil); status != http.StatusOK || v["erased"].(map[string]any)["conversations"] != 0.0 {
			t.Errorf("second erase: %d %v, want 200 with nothing erased", status, v)
		}
		if status, v := admin.json("GET", "/v1/customers/bob/export", nil); status != http.StatusOK || len(v["conversations"].([]any)) != 1 {
			t.Errorf("bob's export: %d %v, want his conversation kept", status, v)
		}
	})
}
