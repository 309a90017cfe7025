package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/channel"
	"github.com/relais-ai/relais/conversation"
)

// graphReply is one answer of scriptedGraph.
type graphReply struct {
	status int
	body   string
}

// scriptedGraph answers the n-th call to /v21.0/123/messages with
// replies[n], and every call after the last with the last; it records the
// decoded request bodies and when they came.
type scriptedGraph struct {
	srv     *httptest.Server
	mu      sync.Mutex
	replies []graphReply
	bodies  []map[string]any
	times   []time.Time
}

func newScriptedGraph(t *testing.T, replies ...graphReply) *scriptedGraph {
	t.Helper()
	g := &scriptedGraph{replies: replies}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v21.0/123/messages" || r.Header.Get("Authorization") != "Bearer token" {
			t.Errorf("request %s %s auth %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		raw, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Errorf("request body: %v", err)
		}
		g.mu.Lock()
		rep := g.replies[min(len(g.bodies), len(g.replies)-1)]
		g.bodies = append(g.bodies, m)
		g.times = append(g.times, time.Now())
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *scriptedGraph) calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.bodies)
}

func (g *scriptedGraph) sent() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.bodies...)
}

func (g *scriptedGraph) sender() *Sender {
	return &Sender{APIBase: g.srv.URL + "/v21.0", AccessToken: "token", PhoneNumberID: "123", RetryWait: time.Millisecond}
}

var (
	sentOK      = graphReply{200, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.OUT"}]}`}
	rateLimited = graphReply{429, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429}}`}
	throughput  = graphReply{400, `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429}}`}
	pairLimit   = graphReply{400, `{"error":{"message":"(#131056) pair rate limit hit","type":"OAuthException","code":131056}}`}
	unavailable = graphReply{503, `{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2}}`}
	outsideDay  = graphReply{400, `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047}}`}
	badToken    = graphReply{401, `{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190}}`}
	badParam    = graphReply{400, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100}}`}
)

func TestSendRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		failure graphReply
		code    string
	}{
		{"HTTP 429", rateLimited, "130429"},
		{"HTTP 503", unavailable, "HTTP 503"},
		{"130429 with a 400", throughput, "130429"},
		{"131056 with a 400", pairLimit, "131056"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Two failures, then success: the default two retries get it
			// through in one Send.
			g := newScriptedGraph(t, tt.failure, tt.failure, sentOK)
			s := g.sender()
			s.pairWait = 20 * time.Millisecond
			rc, err := s.Send(t.Context(), conversation.OutboxMessage{Recipient: "4911111", Text: "hello"})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if rc.ProviderMessageID != "wamid.OUT" || g.calls() != 3 {
				t.Errorf("receipt %q after %d calls, want wamid.OUT after 3", rc.ProviderMessageID, g.calls())
			}
			if tt.failure.body == pairLimit.body {
				for i := 1; i < len(g.times); i++ {
					if gap := g.times[i].Sub(g.times[i-1]); gap < s.pairWait {
						t.Errorf("retry %d came %v after the pair rate limit, want at least %v", i, gap, s.pairWait)
					}
				}
			}

			// Failing more often than that: a transient error for the
			// Dispatcher, naming the code.
			g = newScriptedGraph(t, tt.failure)
			s = g.sender()
			s.pairWait = time.Millisecond
			_, err = s.Send(t.Context(), conversation.OutboxMessage{Recipient: "4911111", Text: "secret customer text"})
			if err == nil || channel.IsPermanent(err) {
				t.Fatalf("err = %v, want a transient error", err)
			}
			if g.calls() != 1+DefaultRetries {
				t.Errorf("%d calls, want %d", g.calls(), 1+DefaultRetries)
			}
			if !strings.Contains(err.Error(), tt.code) || strings.Contains(err.Error(), "secret customer text") {
				t.Errorf("error %q: want it to name %q and not the text", err, tt.code)
			}
		})
	}
}

func TestSendPermanentFailuresAreNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		failure graphReply
		code    string
	}{
		{"outside the 24-hour window", outsideDay, "Graph error code 131047"},
		{"bad token", badToken, "Graph error code 190"},
		{"invalid parameter", badParam, "Graph error code 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newScriptedGraph(t, tt.failure)
			out := &fakeOutbox{msgs: []conversation.OutboxMessage{{ID: 7, Channel: Channel, Recipient: "4911111", Text: "secret customer text"}}}
			d := &channel.Dispatcher{Outbox: out, Senders: map[string]channel.Sender{Channel: g.sender()}}
			if _, err := d.Dispatch(t.Context()); err != nil {
				t.Fatal(err)
			}
			if g.calls() != 1 {
				t.Errorf("%d calls, want 1", g.calls())
			}
			// The console reads the code from the outbox's last error.
			if out.permanent[7] == "" || !strings.Contains(out.permanent[7], tt.code) || strings.Contains(out.permanent[7], "secret") {
				t.Errorf("failed for good with %q (retried: %q), want the reason to name %q", out.permanent[7], out.failed[7], tt.code)
			}
		})
	}
}

// fakeOutbox hands out its messages once and records their outcome.
type fakeOutbox struct {
	mu        sync.Mutex
	msgs      []conversation.OutboxMessage
	sent      map[int64]bool
	failed    map[int64]string
	permanent map[int64]string
}

func (o *fakeOutbox) Pending(_ context.Context, _ []string, limit int) ([]conversation.OutboxMessage, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := min(limit, len(o.msgs))
	ms := o.msgs[:n]
	o.msgs = o.msgs[n:]
	return ms, nil
}

func (o *fakeOutbox) record(m *map[int64]string, id int64, reason string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if *m == nil {
		*m = map[int64]string{}
	}
	(*m)[id] = reason
	return nil
}

func (o *fakeOutbox) MarkSent(_ context.Context, id int64, _ string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sent == nil {
		o.sent = map[int64]bool{}
	}
	o.sent[id] = true
	return nil
}

func (o *fakeOutbox) MarkFailed(_ context.Context, id int64, reason string) error {
	return o.record(&o.failed, id, reason)
}

func (o *fakeOutbox) MarkFailedPermanently(_ context.Context, id int64, reason string) error {
	return o.record(&o.permanent, id, reason)
}

func (o *fakeOutbox) OutboxMessage(context.Context, int64) (conversation.OutboxMessage, error) {
	return conversation.OutboxMessage{}, relais.ErrNotFound
}

// logRecords keeps the messages and attributes a logger was given.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	l.mu.Lock()
	l.msgs = append(l.msgs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }
func (l *logRecords) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.msgs, "\n")
}

func TestBreakerOpensOnRepeatedFailures(t *testing.T) {
	t.Parallel()
	g := newScriptedGraph(t, unavailable, unavailable, unavailable, sentOK)
	logs := &logRecords{}
	s := g.sender()
	s.Retries = -1
	s.BreakerFailures = 3
	s.BreakerOpen = 100 * time.Millisecond
	s.Logger = slog.New(logs)
	msg := conversation.OutboxMessage{Recipient: "4911111", Text: "hello"}
	for i := range 3 {
		if _, err := s.Send(t.Context(), msg); err == nil || channel.IsPermanent(err) {
			t.Fatalf("send %d: err = %v, want a transient error", i, err)
		}
	}
	if s.BreakerState() != "open" {
		t.Fatalf("breaker %s after 3 failures, want open", s.BreakerState())
	}
	// Open: refused at once, transiently, without a call.
	_, err := s.Send(t.Context(), msg)
	if !errors.Is(err, ErrBreakerOpen) || channel.IsPermanent(err) {
		t.Errorf("err = %v, want ErrBreakerOpen, transient", err)
	}
	if g.calls() != 3 {
		t.Errorf("%d calls, want 3: the open breaker calls nothing", g.calls())
	}
	// After BreakerOpen, one trial call; it succeeds and closes it.
	time.Sleep(150 * time.Millisecond)
	if _, err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("trial send: %v", err)
	}
	if s.BreakerState() != "closed" || g.calls() != 4 {
		t.Errorf("breaker %s after %d calls, want closed after 4", s.BreakerState(), g.calls())
	}
	got := logs.all()
	for _, want := range []string{"from=closed to=open", "from=open to=half-open", "from=half-open to=closed"} {
		if !strings.Contains(got, want) {
			t.Errorf("logs do not say %q:\n%s", want, got)
		}
	}
}

func TestBreakerIgnoresRefusalsOfOneMessage(t *testing.T) {
	t.Parallel()
	for _, failure := range []graphReply{outsideDay, badParam, pairLimit} {
		g := newScriptedGraph(t, failure)
		s := g.sender()
		s.Retries = -1
		s.BreakerFailures = 2
		for range 5 {
			if _, err := s.Send(t.Context(), conversation.OutboxMessage{Recipient: "4911111", Text: "hello"}); err == nil {
				t.Fatal("Send succeeded, want an error")
			}
		}
		if g.calls() != 5 || s.BreakerState() != "closed" {
			t.Errorf("%s: %d calls, breaker %s; want 5 calls and the breaker closed", failure.body, g.calls(), s.BreakerState())
		}
	}
}

func TestSendRetryStopsWhenTheDeadlineIsNear(t *testing.T) {
	t.Parallel()
	g := newScriptedGraph(t, unavailable)
	s := g.sender()
	s.RetryWait = time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Send(ctx, conversation.OutboxMessage{Recipient: "4911111", Text: "hello"})
	if err == nil || channel.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient error", err)
	}
	if g.calls() != 1 || time.Since(start) > 400*time.Millisecond {
		t.Errorf("%d calls in %v; want 1, returned at once since no retry fits before the deadline", g.calls(), time.Since(start))
	}
}
