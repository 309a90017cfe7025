package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/internal/testdb"
)

// Shape of BenchmarkWhatsAppLoad's run.
const (
	waCustomers   = 800
	waPerCustomer = 10 // messages per customer, delivered in order
	waWorkers     = 32 // customers delivered at once
	// waDuplicates of the unique messages are delivered a second time, so
	// that they are a fifth of all deliveries: half at once to the other
	// replica, half a little later, as WhatsApp redelivers.
	waDuplicates = waCustomers * waPerCustomer / 4
	// waMaxTries bounds the attempts of one delivery that failed (no
	// answer or not a 200); WhatsApp itself retries for days.
	waMaxTries = 10
	// PostgreSQL restarts when half the deliveries are done, down for
	// waDBDown (plus its start).
	waRestartAt = 0.5
	waDBDown    = 1500 * time.Millisecond
	// waGraphFailEvery: every so many sends, the fake Graph API answers a
	// transient 503 without sending, so retries are part of the run.
	waGraphFailEvery = 40
	// waDrainLimit bounds the wait, after the last delivery, for every
	// message to be answered and every reply to be sent.
	waDrainLimit = 5 * time.Minute
)

const waSecret = "wa-secret"

// BenchmarkWhatsAppLoad is the WhatsApp load test of issue 11. On a
// throwaway PostgreSQL of its own, two `relais serve` replicas (in-process,
// loopback only) share one database, a fake OpenAI-compatible chat model
// and a fake Graph API. 800 customers write 10 messages each, in order per
// customer, 32 customers at a time, each message a signed webhook delivery
// to one replica, round robin: 8,000 unique messages. 2,000 of them are
// delivered a second time with the same wamid (a fifth of the 10,000
// deliveries): half at once to the other replica, half later. A delivery
// that gets no 200 is delivered again with backoff, as WhatsApp does.
// PostgreSQL restarts once, halfway; the fake Graph API refuses one send in
// 40 with a 503.
//
// After the last delivery it waits until no message is pending and no
// reply is left to send (the time to drain), then counts. It fails when a
// message acknowledged with a 200 is not stored, a message is stored twice,
// a customer message is decided twice, a reply reached the Graph API twice
// or never, or something is still pending.
//
// It runs twice: with serve's default background workers (16 per replica,
// as a chat model is configured) and with RELAIS_WHATSAPP_WORKERS=1, the
// trade-off the README's figures show. The fake chat model answers at
// once, so a turn here is CPU, as the offline pipeline's is.
//
//	go test -run '^$' -bench WhatsAppLoad -benchtime 1x -timeout 30m ./cmd/relais/
func BenchmarkWhatsAppLoad(b *testing.B) {
	for _, workers := range []string{"default", "1"} {
		b.Run("workers="+workers, func(b *testing.B) { runWhatsAppLoad(b, workers) })
	}
}

// runWhatsAppLoad is one run of BenchmarkWhatsAppLoad, with serve's
// RELAIS_WHATSAPP_WORKERS ("default" leaves it unset).
func runWhatsAppLoad(b *testing.B, workers string) {
	ctx := context.Background()
	pg, err := testdb.Start(ctx, testdb.Options{})
	if err != nil {
		b.Fatalf("%v\n%s", err, testdb.Help)
	}
	b.Cleanup(func() {
		if err := pg.Stop(); err != nil {
			b.Error(err)
		}
	})
	if err := createVectorExtension(ctx, pg.URL()); err != nil {
		b.Fatal(err)
	}
	llm := newFaultChat(b)
	graph := &loadGraph{failEvery: waGraphFailEvery, byRecipient: make(map[string][]string)}
	gs := httptest.NewServer(graph)
	b.Cleanup(gs.Close)

	logs := &lockedBuffer{}
	c := &cli{t: b, logs: logs, env: map[string]string{
		"RELAIS_LOG_LEVEL":    "warn",
		"RELAIS_DATABASE_URL": pg.URL(),
		"RELAIS_LLM_BASE_URL": llm.srv.URL + "/v1",
		"RELAIS_CHAT_MODEL":   "fake-chat",
	}}
	whatsAppEnv(c, gs.URL)
	if workers != "default" {
		c.env["RELAIS_WHATSAPP_WORKERS"] = workers
	}
	dir := b.TempDir()
	faq, err := os.ReadFile(filepath.Join("testdata", "faults", "faq.csv"))
	if err != nil {
		b.Fatal(err)
	}
	writeFile(b, dir, "faq.csv", string(faq))
	if out, errOut, err := c.run(ctx, "ingest", dir); err != nil {
		b.Fatalf("ingest: %v\n%s\n%s", err, out, errOut)
	}
	other := &cli{t: b, logs: logs, env: maps.Clone(c.env)}
	run := newWALoad(b, []string{startServe(b, c), startServe(b, other)})

	start := time.Now()
	run.deliverAll(pg)
	delivered := time.Since(start)
	drained, pendingIn, pendingOut, err := waitDrained(ctx, pg.URL(), waDrainLimit)
	if err != nil {
		b.Fatal(err)
	}
	counts, err := countWALoad(ctx, pg.URL(), run, graph)
	if err != nil {
		b.Fatal(err)
	}
	counts.pendingIn, counts.pendingOut = pendingIn, pendingOut
	run.report(b, counts, graph, logs.String(), workers, delivered, drained)
}

// loadGraph is the Graph API's messages endpoint, keeping what each
// recipient was sent; every failEvery-th call fails with a 503, sending
// nothing.
type loadGraph struct {
	failEvery int
	calls     atomic.Int64
	failed    atomic.Int64

	mu          sync.Mutex
	byRecipient map[string][]string // the texts each recipient got, in order
	sent        int
}

func (g *loadGraph) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m struct {
		Product string `json:"messaging_product"`
		To      string `json:"to"`
		Type    string `json:"type"`
		Text    struct {
			Body string `json:"body"`
		} `json:"text"`
		Interactive struct {
			Body struct {
				Text string `json:"text"`
			} `json:"body"`
		} `json:"interactive"`
	}
	if r.URL.Path != "/v21.0/555/messages" || r.Header.Get("Authorization") != "Bearer wa-access" ||
		json.NewDecoder(r.Body).Decode(&m) != nil || m.Product != "whatsapp" || m.To == "" {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"message":"Invalid parameter","type":"OAuthException","code":100}}`)
		return
	}
	if n := g.calls.Add(1); g.failEvery > 0 && n%int64(g.failEvery) == 0 {
		g.failed.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"message":"Service temporarily unavailable","type":"OAuthException","code":2}}`)
		return
	}
	body := m.Text.Body
	if m.Type == "interactive" {
		// An answer with the "did this help?" buttons: the answer, then
		// the question after a blank line.
		body = m.Interactive.Body.Text
		if i := strings.LastIndex(body, "\n\n"); i >= 0 {
			body = body[:i]
		}
	}
	g.mu.Lock()
	g.byRecipient[m.To] = append(g.byRecipient[m.To], body)
	g.sent++
	n := g.sent
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.load%d"}]}`, m.To, m.To, n)
}

// waMessage is one customer message of the run and what the client saw of
// its deliveries.
type waMessage struct {
	wamid, from, body string
	acked             atomic.Int64 // deliveries answered 200
}

// waLoad delivers the messages and keeps the client's tallies.
type waLoad struct {
	b        *testing.B
	replicas []string
	client   *http.Client
	messages []*waMessage
	// again marks the messages delivered a second time: 'c' at once,
	// concurrently; 'l' later.
	again map[*waMessage]byte

	done       atomic.Int64 // first deliveries ended
	deliveries atomic.Int64 // deliveries, not counting retries
	attempts   atomic.Int64
	async      sync.WaitGroup

	mu        sync.Mutex
	statuses  map[string]int
	latencies []time.Duration // of the 200s
	gaveUp    int
	events    []string
}

func newWALoad(b *testing.B, replicas []string) *waLoad {
	script := readFaultScript(b)
	questions := script.Questions
	r := &waLoad{b: b, replicas: replicas, again: make(map[*waMessage]byte), statuses: make(map[string]int),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * waWorkers}}}
	rng := rand.New(rand.NewPCG(11, 11))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	for c := range waCustomers {
		for i := range waPerCustomer {
			var text string
			switch k := rng.IntN(100); {
			case k < 65:
				text = pick(questions)
			case k < 80:
				text = pick(script.Smalltalk)
			case k < 95:
				text = pick(script.Unanswerable)
			default:
				text = pick(script.Person)
			}
			r.messages = append(r.messages, &waMessage{
				wamid: fmt.Sprintf("wamid.load-%d-%d", c, i), from: fmt.Sprintf("49%08d", c), body: text})
		}
	}
	for _, i := range rng.Perm(len(r.messages))[:waDuplicates] {
		r.again[r.messages[i]] = "cl"[rng.IntN(2)]
	}
	return r
}

// deliverAll delivers every message, and restarts PostgreSQL when half are
// delivered; it returns once every delivery, late duplicates included, has
// ended.
func (r *waLoad) deliverAll(pg *testdb.Server) {
	total := int64(len(r.messages))
	stop := make(chan struct{})
	var faults sync.WaitGroup
	faults.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if float64(r.done.Load())/float64(total) >= waRestartAt {
				r.event("PostgreSQL restart begins")
				start := time.Now()
				if err := pg.Restart(context.Background(), waDBDown); err != nil {
					r.b.Errorf("restart PostgreSQL: %v", err)
				}
				r.event(fmt.Sprintf("PostgreSQL accepts connections again (%v after the restart began)", time.Since(start).Round(time.Millisecond)))
				return
			}
		}
	})
	eachCustomerInOrder(waWorkers, waCustomers, waPerCustomer, func(n int) {
		r.deliverOne(r.messages[n], n%len(r.replicas))
		r.done.Add(1)
	})
	r.async.Wait()
	close(stop)
	faults.Wait()
}

// deliverOne delivers m to replica, and again as the run planned.
func (r *waLoad) deliverOne(m *waMessage, replica int) {
	other := (replica + 1) % len(r.replicas)
	if r.again[m] == 'c' {
		r.async.Go(func() { r.deliver(m, other) })
	}
	r.deliver(m, replica)
	if r.again[m] == 'l' {
		r.async.Go(func() {
			time.Sleep(time.Duration(200+rand.IntN(2800)) * time.Millisecond)
			r.deliver(m, other)
		})
	}
}

// deliver posts m until a 200, with backoff, alternately on each replica.
func (r *waLoad) deliver(m *waMessage, replica int) {
	r.deliveries.Add(1)
	payload := waPayload(m)
	backoff := 100 * time.Millisecond
	for range waMaxTries {
		if r.attempt(m, payload, replica) {
			return
		}
		time.Sleep(backoff + time.Duration(rand.IntN(100))*time.Millisecond)
		backoff = min(2*backoff, 2*time.Second)
		replica = (replica + 1) % len(r.replicas)
	}
	r.mu.Lock()
	r.gaveUp++
	r.mu.Unlock()
}

// waPayload is the webhook body WhatsApp posts for one text message.
func waPayload(m *waMessage) []byte {
	body, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": "102290129340398", "changes": []any{map[string]any{
			"field": "messages",
			"value": map[string]any{
				"messaging_product": "whatsapp",
				"metadata":          map[string]any{"display_phone_number": "15550000000", "phone_number_id": "555"},
				"contacts":          []any{map[string]any{"profile": map[string]any{"name": "Customer"}, "wa_id": m.from}},
				"messages": []any{map[string]any{
					"from": m.from, "id": m.wamid, "timestamp": fmt.Sprint(time.Now().Unix()),
					"type": "text", "text": map[string]any{"body": m.body}}},
			},
		}}}},
	})
	return body
}

// attempt posts one delivery of m, signed, and reports whether it got a 200.
func (r *waLoad) attempt(m *waMessage, payload []byte, replica int) bool {
	mac := hmac.New(sha256.New, []byte(waSecret))
	mac.Write(payload)
	req, err := http.NewRequest("POST", r.replicas[replica]+"/webhooks/whatsapp", strings.NewReader(string(payload)))
	if err != nil {
		r.b.Error(err)
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	r.attempts.Add(1)
	start := time.Now()
	resp, err := r.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	took := time.Since(start)
	kind := "error"
	var ne interface{ Timeout() bool }
	switch {
	case err == nil:
		kind = fmt.Sprint(resp.StatusCode)
	case errors.As(err, &ne) && ne.Timeout():
		kind = "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		kind = "connect"
	}
	r.mu.Lock()
	r.statuses[kind]++
	if kind == "200" {
		r.latencies = append(r.latencies, took)
	}
	r.mu.Unlock()
	if kind != "200" {
		return false
	}
	m.acked.Add(1)
	return true
}

func (r *waLoad) event(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("%s at %d/%d messages", what, r.done.Load(), len(r.messages)))
}

// waitDrained waits, up to limit, until no customer message is pending and
// no WhatsApp reply is waiting to be sent; it returns how long it waited
// and what is still pending.
func waitDrained(ctx context.Context, url string, limit time.Duration) (time.Duration, int, int, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, 0, 0, err
	}
	defer conn.Close(ctx)
	start := time.Now()
	for {
		var in, out int
		err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages WHERE pending_until IS NOT NULL),
       (SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND status = 'pending')`).Scan(&in, &out)
		if err != nil {
			return 0, 0, 0, err
		}
		if in+out == 0 || time.Since(start) > limit {
			return time.Since(start), in, out, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waCounts is what the database and the fake Graph API say after the run.
type waCounts struct {
	stored, unique                      int // customer messages, and their distinct wamids
	answered, replied, handedOff, quiet int // decisions
	repliesQueued, repliesSent, failed  int // outbox rows
	graphSent                           int // sends the Graph API accepted
	pendingIn, pendingOut               int
	// The zero-numbers.
	lost, storedTwice, decidedTwice, sentTwice, neverSent int
	details                                               []string
}

func countWALoad(ctx context.Context, url string, run *waLoad, graph *loadGraph) (waCounts, error) {
	var wc waCounts
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return wc, err
	}
	defer conn.Close(ctx)
	one := func(dst *int, sql string) {
		if err == nil {
			err = conn.QueryRow(ctx, sql).Scan(dst)
		}
	}
	one(&wc.stored, `SELECT count(*) FROM messages WHERE role = 'customer' AND channel = 'whatsapp'`)
	one(&wc.unique, `SELECT count(DISTINCT channel_message_id) FROM messages WHERE role = 'customer' AND channel = 'whatsapp'`)
	one(&wc.answered, `SELECT count(*) FROM decisions WHERE action = 'answer'`)
	one(&wc.replied, `SELECT count(*) FROM decisions WHERE action = 'reply'`)
	one(&wc.handedOff, `SELECT count(*) FROM decisions WHERE action = 'handoff' AND reason <> 'agent_owned'`)
	one(&wc.quiet, `SELECT count(*) FROM decisions WHERE action = 'handoff' AND reason = 'agent_owned'`)
	one(&wc.decidedTwice, `SELECT count(*) FROM (SELECT message_id FROM decisions WHERE message_id IS NOT NULL
GROUP BY message_id HAVING count(*) > 1) twice`)
	one(&wc.repliesQueued, `SELECT count(*) FROM outbox WHERE channel = 'whatsapp'`)
	one(&wc.repliesSent, `SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND status = 'sent'`)
	one(&wc.failed, `SELECT count(*) FROM outbox WHERE channel = 'whatsapp' AND status = 'failed'`)
	if err != nil {
		return wc, err
	}
	wc.storedTwice = wc.stored - wc.unique

	storedIDs := make(map[string]bool, wc.unique)
	rows, err := conn.Query(ctx, `SELECT channel_message_id FROM messages WHERE role = 'customer' AND channel = 'whatsapp'`)
	if err != nil {
		return wc, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return wc, err
		}
		storedIDs[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wc, err
	}
	for _, m := range run.messages {
		if m.acked.Load() > 0 && !storedIDs[m.wamid] {
			wc.lost++
			if wc.lost <= 5 {
				wc.details = append(wc.details, "lost: "+m.wamid)
			}
		}
	}

	// What each recipient was sent must be what the outbox says it was
	// sent: every sent reply once, nothing else.
	queued := make(map[string][]string)
	rows, err = conn.Query(ctx, `SELECT recipient, text FROM outbox WHERE channel = 'whatsapp' AND status = 'sent' ORDER BY id`)
	if err != nil {
		return wc, err
	}
	for rows.Next() {
		var to, text string
		if err := rows.Scan(&to, &text); err != nil {
			rows.Close()
			return wc, err
		}
		queued[to] = append(queued[to], text)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wc, err
	}
	graph.mu.Lock()
	defer graph.mu.Unlock()
	wc.graphSent = graph.sent
	for _, to := range slices.Sorted(maps.Keys(queued)) {
		extra, missing := multisetDiff(graph.byRecipient[to], queued[to])
		wc.sentTwice += extra
		wc.neverSent += missing
		if extra+missing > 0 && len(wc.details) < 10 {
			wc.details = append(wc.details, fmt.Sprintf("recipient %s: %d sends beyond the outbox, %d outbox replies not sent", to, extra, missing))
		}
	}
	for to, got := range graph.byRecipient {
		if _, ok := queued[to]; !ok {
			wc.sentTwice += len(got)
			wc.details = append(wc.details, fmt.Sprintf("recipient %s: %d sends and no sent reply in the outbox", to, len(got)))
		}
	}
	return wc, nil
}

// multisetDiff counts the elements of got beyond want, and of want beyond
// got.
func multisetDiff(got, want []string) (extra, missing int) {
	n := make(map[string]int)
	for _, s := range got {
		n[s]++
	}
	for _, s := range want {
		n[s]--
	}
	for _, v := range n {
		if v > 0 {
			extra += v
		} else {
			missing -= v
		}
	}
	return extra, missing
}

// report logs the run as a table, reports its figures as metrics and fails
// the benchmark when a zero-number is not zero.
func (r *waLoad) report(b *testing.B, wc waCounts, graph *loadGraph, logs, workers string, delivered, drained time.Duration) {
	b.Helper()
	acked := 0
	for _, m := range r.messages {
		if m.acked.Load() > 0 {
			acked++
		}
	}
	statuses := make([]string, 0, len(r.statuses))
	for _, k := range slices.Sorted(maps.Keys(r.statuses)) {
		statuses = append(statuses, fmt.Sprintf("%s=%d", k, r.statuses[k]))
	}
	var tb strings.Builder
	fmt.Fprintf(&tb, "whatsapp load: %d deliveries (%d unique messages from %d customers, %d duplicates), %d customers writing at once, 2 replicas with %s background workers each, delivered in %v; %s; drained %v after the last delivery",
		r.deliveries.Load(), len(r.messages), waCustomers, len(r.again), waWorkers, workers, delivered.Round(time.Second), strings.Join(r.events, ", "), drained.Round(100*time.Millisecond))
	row := func(what, format string, args ...any) {
		fmt.Fprintf(&tb, "\n  %-9s "+format, append([]any{what}, args...)...)
	}
	row("webhook", "attempts %d (%s); messages acknowledged %d of %d; deliveries given up %d; latency of a 200 p50/p95/p99/max %.1f/%.1f/%.1f/%.0f ms",
		r.attempts.Load(), strings.Join(statuses, " "), acked, len(r.messages), r.gaveUp,
		ms(percentile(r.latencies, 50)), ms(percentile(r.latencies, 95)), ms(percentile(r.latencies, 99)), ms(percentile(r.latencies, 100)))
	row("stored", "%d customer messages (%d unique wamids); decisions: answered %d, replied %d, handed off %d, silent %d",
		wc.stored, wc.unique, wc.answered, wc.replied, wc.handedOff, wc.quiet)
	row("sent", "replies queued %d, sent %d, failed %d; Graph API accepted %d sends, refused %d on purpose (503)",
		wc.repliesQueued, wc.repliesSent, wc.failed, wc.graphSent, graph.failed.Load())
	row("MUST BE 0", "acknowledged but lost %d | stored twice %d | decided twice %d | replies sent twice %d | sent replies never received %d | pending %d in, %d out",
		wc.lost, wc.storedTwice, wc.decidedTwice, wc.sentTwice, wc.neverSent, wc.pendingIn, wc.pendingOut)
	row("serve", "log: %d errors, %d handler panics, %d messages left to the resumer by a busy webhook",
		strings.Count(logs, "level=ERROR"), strings.Count(logs, "handler panic"), strings.Count(logs, "message left to the resumer"))
	row("", "most frequent errors: %s", topErrors(logs, 3))
	b.Log(tb.String())

	b.ReportMetric(ms(percentile(r.latencies, 95)), "webhook_p95_ms")
	b.ReportMetric(drained.Seconds(), "drain_s")
	b.ReportMetric(float64(wc.sentTwice), "sent_twice")
	b.ReportMetric(float64(wc.lost), "lost")
	b.ReportMetric(0, "ns/op")

	for _, z := range []struct {
		n    int
		what string
	}{
		{len(r.messages) - acked, "messages were never acknowledged"},
		{wc.lost, "acknowledged messages were lost"},
		{wc.storedTwice, "messages were stored twice"},
		{wc.decidedTwice, "messages were decided twice"},
		{wc.sentTwice, "replies reached the Graph API beyond the outbox (sent twice)"},
		{wc.neverSent, "replies marked sent never reached the Graph API"},
		{wc.failed, "replies failed for good"},
		{wc.pendingIn, "customer messages are still pending after " + waDrainLimit.String()},
		{wc.pendingOut, "replies are still waiting to be sent after " + waDrainLimit.String()},
		{strings.Count(logs, "handler panic"), "handler panics were logged"},
	} {
		if z.n > 0 {
			b.Errorf("%d %s", z.n, z.what)
		}
	}
	if len(wc.details) > 0 {
		b.Errorf("details:\n%s", strings.Join(wc.details, "\n"))
	}
	if wc.answered == 0 || wc.handedOff == 0 || graph.failed.Load() == 0 {
		b.Errorf("answered %d, handed off %d, Graph refusals %d: the run must see all three", wc.answered, wc.handedOff, graph.failed.Load())
	}
	if r.statuses["500"]+r.statuses["503"]+r.statuses["connect"]+r.statuses["timeout"] == 0 {
		b.Errorf("no delivery failed: the database restart did not reach the webhook")
	}
}

var (
	logMsg   = regexp.MustCompile(`level=ERROR msg="([^"]*)"(?:.* error="([^"]*)")?`)
	logDigit = regexp.MustCompile(`[0-9]+`)
)

// topErrors names the n most frequent error messages of serve's logs, with
// their error (numbers elided) and counts.
func topErrors(logs string, n int) string {
	counts := map[string]int{}
	for _, m := range logMsg.FindAllStringSubmatch(logs, -1) {
		key := m[1]
		if m[2] != "" {
			key += ": " + logDigit.ReplaceAllString(m[2], "N")
		}
		counts[key]++
	}
	msgs := slices.SortedFunc(maps.Keys(counts), func(a, b string) int { return counts[b] - counts[a] })
	var out []string
	for _, m := range msgs[:min(n, len(msgs))] {
		out = append(out, fmt.Sprintf("%d× %q", counts[m], m))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}
