package openai_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/provider/openai"
)

// Texts a customer might send: they must never show up in an error.
var customerTexts = []string{
	"my card 4111 1111 1111 1111 was charged twice",
	"call me back on +33 6 12 34 56 78",
}

// reply is one canned answer from the fake.
type reply func(w http.ResponseWriter, r *http.Request, req embeddingsRequest)

// failFirst answers the first k requests with fail, then normally.
func failFirst(k int, fail reply) responder {
	return func(n int, req embeddingsRequest, w http.ResponseWriter, r *http.Request) bool {
		if n > k {
			return false
		}
		fail(w, r, req)
		return true
	}
}

func always(fail reply) responder { return failFirst(1<<30, fail) }

// apiError answers like the OpenAI API, with a message that echoes the input
// and the key, as some servers do, to prove neither reaches the error.
func apiError(status int, typ, code string) reply {
	return func(w http.ResponseWriter, _ *http.Request, req embeddingsRequest) {
		msg := fmt.Sprintf("cannot process %q with key %s", strings.Join(req.texts, " "), testKey)
		writeAPIError(w, status, typ, code, msg)
	}
}

func rawBody(status int, contentType, body string) reply {
	return func(w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// hangUp closes the connection without answering.
func hangUp(w http.ResponseWriter, _ *http.Request, _ embeddingsRequest) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// embeddingsWith answers with hand-made data items, to play a server that
// gets the protocol wrong.
func embeddingsWith(items ...struct{ index, dims int }) reply {
	return func(w http.ResponseWriter, _ *http.Request, req embeddingsRequest) {
		var data []map[string]any
		for _, it := range items {
			data = append(data, map[string]any{"object": "embedding", "index": it.index, "embedding": vectorFor("x", it.dims)})
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": req.Model})
	}
}

func item(index, dims int) struct{ index, dims int } { return struct{ index, dims int }{index, dims} }

func TestEmbedFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		respond  responder
		wantHits int
		wantErr  error // nil: the call must succeed in the end
		notErr   error // a sentinel the error must not wrap
		wantMsg  []string
	}{
		{name: "429 then success", respond: failFirst(1, apiError(429, "requests", "rate_limit_exceeded")), wantHits: 2},
		{name: "500 then success", respond: failFirst(1, apiError(500, "server_error", "")), wantHits: 2},
		{name: "502 page from a proxy twice then success",
			respond: failFirst(2, rawBody(502, "text/html", "<html>Bad Gateway</html>")), wantHits: 3},
		{name: "408 then success", respond: failFirst(1, rawBody(408, "text/plain", "timeout")), wantHits: 2},
		{name: "connection dropped then success", respond: failFirst(1, hangUp), wantHits: 2},
		{name: "503 every time", respond: always(apiError(503, "server_error", "")), wantHits: 4,
			wantErr: relais.ErrUnavailable, wantMsg: []string{"openai embeddings: HTTP 503 Service Unavailable (type server_error), after 4 attempts: unavailable"}},
		{name: "400 not retried", respond: always(apiError(400, "invalid_request_error", "")), wantHits: 1,
			wantErr: relais.ErrInvalid, notErr: relais.ErrUnavailable, wantMsg: []string{"embeddings", "HTTP 400", "invalid_request_error"}},
		{name: "422 echoing the input not retried",
			respond: always(rawBody(422, "application/json",
				`{"detail":[{"type":"string_too_long","loc":["body","input",0],"msg":"too long","input":"`+customerTexts[0]+`"}]}`)),
			wantHits: 1, wantErr: relais.ErrInvalid, wantMsg: []string{"HTTP 422"}},
		{name: "401 not retried", respond: always(apiError(401, "invalid_request_error", "invalid_api_key")), wantHits: 1,
			wantErr: relais.ErrUnauthorized, notErr: relais.ErrUnavailable, wantMsg: []string{"HTTP 401", "invalid_api_key"}},
		{name: "403 not retried", respond: always(apiError(403, "permission_error", "")), wantHits: 1,
			wantErr: relais.ErrUnauthorized, wantMsg: []string{"HTTP 403"}},
		{name: "404 unknown model not retried", respond: always(apiError(404, "invalid_request_error", "model_not_found")),
			wantHits: 1, wantErr: relais.ErrUnavailable, notErr: relais.ErrInvalid, wantMsg: []string{"HTTP 404", "model_not_found"}},
		{name: "413 not retried", respond: always(rawBody(413, "text/plain", "too big")), wantHits: 1,
			wantErr: relais.ErrTooLarge, wantMsg: []string{"HTTP 413"}},
		{name: "429 insufficient_quota not retried", respond: always(apiError(429, "insufficient_quota", "insufficient_quota")),
			wantHits: 1, wantErr: relais.ErrUnavailable, notErr: relais.ErrInvalid, wantMsg: []string{"HTTP 429", "insufficient_quota"}},
		{name: "malformed JSON", respond: always(rawBody(200, "application/json", `{"object":"list","data":[{"index":0,"embedding":[0.1,`+"\x00")),
			wantHits: 1, wantErr: relais.ErrUnavailable, wantMsg: []string{"malformed response"}},
		{name: "HTML instead of JSON", respond: always(rawBody(200, "text/html", `<html>login</html>`)),
			wantHits: 1, wantErr: relais.ErrUnavailable, wantMsg: []string{"malformed response"}},
		{name: "empty body", respond: always(rawBody(200, "application/json", ``)),
			wantHits: 1, wantErr: relais.ErrUnavailable, wantMsg: []string{"malformed response"}},
		{name: "wrong vector count", respond: always(embeddingsWith(item(0, 8))),
			wantHits: 1, wantErr: relais.ErrUnavailable, wantMsg: []string{"returned 1 embeddings for 2 texts"}},
		{name: "dimension mismatch within a response", respond: always(embeddingsWith(item(0, 8), item(1, 4))),
			wantHits: 1, wantErr: relais.ErrUnavailable, wantMsg: []string{"8 and 4 dimensions"}},
		{name: "index out of range", respond: always(embeddingsWith(item(0, 8), item(2, 8))),
			wantHits: 1, wantErr: relais.ErrUnavailable, wantMsg: []string{"index 2 for 2 texts"}},
		{name: "index twice", respond: always(embeddingsWith(item(1, 8), item(1, 8))),
			wantHits: 1, wantErr: relais.ErrUnavailable, wantMsg: []string{"index 1 twice"}},
		{name: "empty vector", respond: always(embeddingsWith(item(0, 0), item(1, 0))),
			wantHits: 1, wantErr: relais.ErrUnavailable, wantMsg: []string{"empty embedding"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, 8, tt.respond)
			sleeps := &sleepRecorder{}
			c := newClient(t, testConfig(f, sleeps))

			got, err := c.Embed(t.Context(), customerTexts)
			if hits := f.hits(); hits != tt.wantHits {
				t.Errorf("server hit %d times, want %d", hits, tt.wantHits)
			}
			if n := len(sleeps.waits()); n != tt.wantHits-1 {
				t.Errorf("backed off %d times for %d hits", n, tt.wantHits)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Embed: %v", err)
				}
				checkVectors(t, customerTexts, got, 8)
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want it to wrap %v", err, tt.wantErr)
			}
			if tt.notErr != nil && errors.Is(err, tt.notErr) {
				t.Errorf("error = %v, must not wrap %v", err, tt.notErr)
			}
			if got != nil {
				t.Errorf("got %d vectors with an error", len(got))
			}
			for _, want := range tt.wantMsg {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			checkNoSecrets(t, err.Error())
			t.Logf("error: %v", err)
		})
	}
}

// checkNoSecrets fails if s holds the API key or any customer text.
func checkNoSecrets(t *testing.T, s string) {
	t.Helper()
	for _, secret := range append([]string{testKey, "cannot process"}, customerTexts...) {
		if strings.Contains(s, secret) {
			t.Errorf("%q leaks %q", s, secret)
		}
	}
}

func TestEmbedRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, value string
		want                time.Duration
	}{
		{"seconds", "Retry-After", "2", 2 * time.Second},
		{"milliseconds", "retry-after-ms", "1500", 1500 * time.Millisecond},
		{"capped at RetryMaxDelay", "Retry-After", "600", 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, 8, failFirst(1, func(w http.ResponseWriter, r *http.Request, req embeddingsRequest) {
				w.Header().Set(tt.header, tt.value)
				apiError(429, "requests", "rate_limit_exceeded")(w, r, req)
			}))
			sleeps := &sleepRecorder{}
			cfg := testConfig(f, sleeps)
			cfg.RetryBaseDelay = time.Millisecond // so the jitter stays below what the server asks
			cfg.RetryMaxDelay = 5 * time.Second
			c := newClient(t, cfg)

			if _, err := c.Embed(t.Context(), customerTexts); err != nil {
				t.Fatalf("Embed: %v", err)
			}
			if got := sleeps.waits(); !slices.Equal(got, []time.Duration{tt.want}) {
				t.Errorf("waits = %v, want [%v]", got, tt.want)
			}
		})
	}
}

func TestEmbedBackoffStaysUnderCeiling(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, always(apiError(503, "server_error", "")))
	sleeps := &sleepRecorder{}
	cfg := testConfig(f, sleeps)
	cfg.MaxRetries = 5
	cfg.RetryBaseDelay = 100 * time.Millisecond
	cfg.RetryMaxDelay = 400 * time.Millisecond
	c := newClient(t, cfg)

	if _, err := c.Embed(t.Context(), customerTexts); !errors.Is(err, relais.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
	ceilings := []time.Duration{100, 200, 400, 400, 400}
	got := sleeps.waits()
	if len(got) != len(ceilings) {
		t.Fatalf("waits = %v, want %d of them", got, len(ceilings))
	}
	for i, d := range got {
		if ceiling := ceilings[i] * time.Millisecond; d < 0 || d >= ceiling {
			t.Errorf("wait %d = %v, want in [0, %v)", i+1, d, ceiling)
		}
	}
}

func TestEmbedAttemptTimeout(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, always(func(w http.ResponseWriter, r *http.Request, _ embeddingsRequest) {
		hangUntilCancelled(w, r) // until the client gives up on the attempt
	}))
	sleeps := &sleepRecorder{}
	cfg := testConfig(f, sleeps)
	cfg.Timeout = 50 * time.Millisecond
	cfg.MaxRetries = 2
	c := newClient(t, cfg)

	_, err := c.Embed(t.Context(), customerTexts)
	if !errors.Is(err, relais.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v: a per-attempt timeout must not look like the caller's deadline", err)
	}
	if !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("error %q does not name the timeout", err)
	}
	if hits := f.hits(); hits != 3 {
		t.Errorf("server hit %d times, want 3 (1 + 2 retries)", hits)
	}
}

func TestEmbedCancelledDuringBackoff(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, always(apiError(503, "server_error", "")))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := testConfig(f, &sleepRecorder{})
	cfg.Sleep = func(ctx context.Context, d time.Duration) error {
		cancel() // the customer hung up while we wait to retry
		<-ctx.Done()
		return ctx.Err()
	}
	c := newClient(t, cfg)

	_, err := c.Embed(ctx, customerTexts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if !errors.Is(err, relais.ErrUnavailable) {
		t.Errorf("error = %v, want it to keep the provider failure (ErrUnavailable) too", err)
	}
	if !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("error %q does not say what failed before", err)
	}
	if hits := f.hits(); hits != 1 {
		t.Errorf("server hit %d times, want 1", hits)
	}
}

func TestEmbedNoRetryPastCallerDeadline(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, always(func(w http.ResponseWriter, r *http.Request, req embeddingsRequest) {
		w.Header().Set("Retry-After", "3600")
		apiError(429, "requests", "rate_limit_exceeded")(w, r, req)
	}))
	sleeps := &sleepRecorder{}
	cfg := testConfig(f, sleeps)
	cfg.RetryMaxDelay = 2 * time.Hour
	c := newClient(t, cfg)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := c.Embed(ctx, customerTexts)
	if !errors.Is(err, relais.ErrUnavailable) || !strings.Contains(err.Error(), "HTTP 429") {
		t.Fatalf("error = %v, want the 429 as ErrUnavailable", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v: the deadline had not passed", err)
	}
	if n := len(sleeps.waits()); n != 0 {
		t.Errorf("waited %d times for a retry the deadline does not allow", n)
	}
}

// transitions records breaker state changes from Config.OnStateChange.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) record(endpoint, from, to string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got = append(tr.got, endpoint+": "+from+" -> "+to)
}

func (tr *transitions) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.got...)
}

func TestBreakerOpensThenFailsFast(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, always(apiError(503, "server_error", "")))
	tr := &transitions{}
	logs := &syncBuffer{}
	cfg := testConfig(f, &sleepRecorder{})
	cfg.MaxRetries = -1
	cfg.Breaker = openai.BreakerConfig{FailureThreshold: 3, OpenTimeout: time.Hour}
	cfg.OnStateChange = tr.record
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	c := newClient(t, cfg)

	for i := range 3 {
		if _, err := c.Embed(t.Context(), customerTexts); errors.Is(err, gobreaker.ErrOpenState) || err == nil {
			t.Fatalf("call %d: error = %v, want the 503 itself", i+1, err)
		}
	}
	if got := c.BreakerStates(); got["embeddings"] != "open" {
		t.Fatalf("BreakerStates() = %v, want embeddings open", got)
	}

	_, err := c.Embed(t.Context(), customerTexts)
	if !errors.Is(err, relais.ErrUnavailable) || !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("error = %v, want ErrUnavailable from an open breaker", err)
	}
	if !strings.Contains(err.Error(), "circuit breaker open") {
		t.Errorf("error %q does not say the breaker is open", err)
	}
	if hits := f.hits(); hits != 3 {
		t.Errorf("server hit %d times, want 3: an open breaker must not call it", hits)
	}
	if want := []string{"embeddings: closed -> open"}; !slices.Equal(tr.list(), want) {
		t.Errorf("transitions = %q, want %q", tr.list(), want)
	}
	log := logs.String()
	if !strings.Contains(log, "circuit breaker changed state") || !strings.Contains(log, "to=open") {
		t.Errorf("state change not logged; log:\n%s", log)
	}
	checkNoSecrets(t, log)
}

func TestBreakerStopsRetries(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, always(apiError(500, "server_error", "")))
	cfg := testConfig(f, &sleepRecorder{})
	cfg.MaxRetries = 5
	cfg.Breaker = openai.BreakerConfig{FailureThreshold: 2, OpenTimeout: time.Hour}
	c := newClient(t, cfg)

	_, err := c.Embed(t.Context(), customerTexts)
	if !errors.Is(err, gobreaker.ErrOpenState) || !errors.Is(err, relais.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable from the breaker opening mid-retries", err)
	}
	if !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("error %q does not keep the failure that opened the breaker", err)
	}
	if hits := f.hits(); hits != 2 {
		t.Errorf("server hit %d times, want 2", hits)
	}
}

func TestBreakerIgnoresRejectedInput(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, always(apiError(400, "invalid_request_error", "")))
	cfg := testConfig(f, &sleepRecorder{})
	cfg.Breaker = openai.BreakerConfig{FailureThreshold: 2, OpenTimeout: time.Hour}
	c := newClient(t, cfg)

	for range 3 {
		if _, err := c.Embed(t.Context(), customerTexts); !errors.Is(err, relais.ErrInvalid) {
			t.Fatalf("error = %v, want ErrInvalid", err)
		}
	}
	if got := c.BreakerStates()["embeddings"]; got != "closed" {
		t.Errorf("breaker %s after rejected inputs, want closed", got)
	}
	if hits := f.hits(); hits != 3 {
		t.Errorf("server hit %d times, want 3", hits)
	}
}

// waitForState polls until the embeddings breaker reaches state: gobreaker
// reads the wall clock, so its open timeout cannot be faked.
func waitForState(t *testing.T, c *openai.Client, state string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.BreakerStates()["embeddings"] != state {
		if time.Now().After(deadline) {
			t.Fatalf("breaker still %s, want %s", c.BreakerStates()["embeddings"], state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBreakerHalfOpen(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	trialStarted := make(chan struct{}, 1)
	releaseTrial := make(chan struct{})
	var holdTrial atomic.Bool
	f := newFake(t, 8, func(_ int, req embeddingsRequest, w http.ResponseWriter, r *http.Request) bool {
		if holdTrial.Load() {
			trialStarted <- struct{}{}
			<-releaseTrial
		}
		if healthy.Load() {
			return false
		}
		apiError(503, "server_error", "")(w, r, req)
		return true
	})
	tr := &transitions{}
	cfg := testConfig(f, &sleepRecorder{})
	cfg.MaxRetries = -1
	cfg.Breaker = openai.BreakerConfig{FailureThreshold: 1, OpenTimeout: 20 * time.Millisecond}
	cfg.OnStateChange = tr.record
	c := newClient(t, cfg)

	if _, err := c.Embed(t.Context(), customerTexts); !errors.Is(err, relais.ErrUnavailable) {
		t.Fatalf("first call: error = %v, want ErrUnavailable", err)
	}

	// A failed trial opens the breaker again.
	waitForState(t, c, "half-open")
	if _, err := c.Embed(t.Context(), customerTexts); errors.Is(err, gobreaker.ErrOpenState) || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("trial call: error = %v, want the provider's 503", err)
	}
	// The transitions checked at the end show it opened again; its state
	// is not read here, as the 20ms open timeout may already be over.

	// While the one allowed trial is in flight, other calls fail fast.
	waitForState(t, c, "half-open")
	healthy.Store(true)
	holdTrial.Store(true)
	trialDone := make(chan error, 1)
	go func() {
		_, err := c.Embed(t.Context(), customerTexts)
		trialDone <- err
	}()
	<-trialStarted
	holdTrial.Store(false)
	hitsBefore := f.hits()
	_, err := c.Embed(t.Context(), customerTexts)
	if !errors.Is(err, gobreaker.ErrTooManyRequests) || !errors.Is(err, relais.ErrUnavailable) {
		t.Errorf("call during the trial: error = %v, want ErrUnavailable from the half-open breaker", err)
	}
	if f.hits() != hitsBefore {
		t.Errorf("a call during the trial reached the server")
	}
	close(releaseTrial)
	if err := <-trialDone; err != nil {
		t.Fatalf("successful trial: %v", err)
	}

	if got := c.BreakerStates()["embeddings"]; got != "closed" {
		t.Errorf("breaker %s after a successful trial, want closed", got)
	}
	got, err := c.Embed(t.Context(), customerTexts)
	if err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	checkVectors(t, customerTexts, got, 8)
	want := []string{
		"embeddings: closed -> open",
		"embeddings: open -> half-open",
		"embeddings: half-open -> open",
		"embeddings: open -> half-open",
		"embeddings: half-open -> closed",
	}
	if !slices.Equal(tr.list(), want) {
		t.Errorf("transitions:\n got %q\nwant %q", tr.list(), want)
	}
}

func TestBreakerIgnoresCallerGivingUp(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, always(func(w http.ResponseWriter, r *http.Request, _ embeddingsRequest) {
		hangUntilCancelled(w, r)
	}))
	cfg := testConfig(f, &sleepRecorder{})
	cfg.Breaker = openai.BreakerConfig{FailureThreshold: 1, OpenTimeout: time.Hour}
	c := newClient(t, cfg)

	// The caller's deadline is far shorter than the per-attempt timeout:
	// running out of it says nothing about the provider.
	for range 2 {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		_, err := c.Embed(ctx, customerTexts)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want the caller's context.DeadlineExceeded", err)
		}
		if errors.Is(err, relais.ErrUnavailable) {
			t.Errorf("error = %v: nothing failed before the caller gave up", err)
		}
	}
	if got := c.BreakerStates()["embeddings"]; got != "closed" {
		t.Errorf("breaker %s after callers gave up, want closed", got)
	}
	if hits := f.hits(); hits != 2 {
		t.Errorf("server hit %d times, want 2 (no retry once the caller gave up)", hits)
	}
}

func TestBreakerTrialAbandonedByCaller(t *testing.T) {
	t.Parallel()
	var hang atomic.Bool
	f := newFake(t, 8, func(_ int, req embeddingsRequest, w http.ResponseWriter, r *http.Request) bool {
		if hang.Load() {
			hangUntilCancelled(w, r)
			return true
		}
		apiError(503, "server_error", "")(w, r, req)
		return true
	})
	cfg := testConfig(f, &sleepRecorder{})
	cfg.MaxRetries = -1
	cfg.Breaker = openai.BreakerConfig{FailureThreshold: 1, OpenTimeout: 20 * time.Millisecond}
	c := newClient(t, cfg)

	if _, err := c.Embed(t.Context(), customerTexts); !errors.Is(err, relais.ErrUnavailable) {
		t.Fatalf("error = %v, want ErrUnavailable", err)
	}
	waitForState(t, c, "half-open")
	hang.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Embed(ctx, customerTexts); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want the caller's context.DeadlineExceeded", err)
	}
	// Neither closed (nothing succeeded) nor open (nothing failed), and the
	// trial slot is free again.
	if got := c.BreakerStates()["embeddings"]; got != "half-open" {
		t.Errorf("breaker %s after an abandoned trial, want half-open", got)
	}
	hang.Store(false)
	if _, err := c.Embed(t.Context(), customerTexts); !strings.Contains(fmt.Sprint(err), "HTTP 503") {
		t.Errorf("next trial: error = %v, want it to reach the server (HTTP 503)", err)
	}
}

func TestEmbedDeadlineDuringRetryKeepsEarlierFailure(t *testing.T) {
	t.Parallel()
	f := newFake(t, 8, func(n int, req embeddingsRequest, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			apiError(503, "server_error", "")(w, r, req)
			return true
		}
		hangUntilCancelled(w, r)
		return true
	})
	cfg := testConfig(f, &sleepRecorder{})
	cfg.RetryBaseDelay = time.Millisecond // within the caller's deadline
	c := newClient(t, cfg)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Embed(ctx, customerTexts)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, relais.ErrUnavailable) {
		t.Fatalf("error = %v, want both the caller's deadline and the provider's failure", err)
	}
	if !strings.Contains(err.Error(), "HTTP 503") || !strings.Contains(err.Error(), "after 2 attempts") {
		t.Errorf("error %q does not tell what happened", err)
	}
}
