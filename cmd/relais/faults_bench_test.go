package main

import (
	"bytes"
	"context"
	"encoding/csv"
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/internal/testdb"
)

// Shape of BenchmarkFaults's run.
const (
	faultCustomers   = 500
	faultPerCustomer = 10 // messages per customer, sent in order
	faultWorkers     = 24 // customers served at once
	// faultRetryShare of the messages are sent again by the client on
	// purpose, with the same id: half at once to the other replica, half a
	// little later, as a client that lost the response would.
	faultRetryShare = 0.20
	// faultMaxTries bounds the attempts of one delivery that timed out,
	// failed to connect or got a 5xx.
	faultMaxTries = 8
	// faultRequestTimeout is each replica's RELAIS_REQUEST_TIMEOUT; the
	// client gives up on an attempt after faultClientTimeout.
	faultRequestTimeout = 3 * time.Second
	faultClientTimeout  = 8 * time.Second
	// The faults, by the share of messages delivered when they start: the
	// chat model hangs from faultHangFrom to faultHangTo, and PostgreSQL
	// restarts at faultRestartAt, down for faultDBDown.
	faultHangFrom  = 0.05
	faultHangTo    = 0.15
	faultRestartAt = 0.55
	faultDBDown    = 1500 * time.Millisecond
	// faultSettle bounds the wait for the resumers after the run: a message
	// whose handler could not even release it waits out its lease (one
	// minute), then up to resumeEvery.
	faultSettle = 3 * time.Minute
)

// BenchmarkFaults is the fault test of issue 10. On a throwaway PostgreSQL
// of its own, two `relais serve` replicas (in-process, loopback only) share
// one database and a fake OpenAI-compatible chat model. 500 customers send
// 10 messages each, in order per customer, 24 customers at a time, round
// robin over the replicas, each message with a unique message_id (in the
// body or the Idempotency-Key header). A fifth of the messages are sent
// again on purpose; every attempt that times out, fails to connect or gets a
// 5xx is retried with backoff on the other replica, up to 8 attempts. While
// it runs, the chat model hangs for a while (from 5% to 15% of the
// messages, early enough for its circuit breaker, open 30 s, to close again
// before the end) and PostgreSQL restarts once (at 55%, down 1.5 s, plus
// its start).
//
// After the run it waits for the replicas' resumers to handle every message
// left pending, then counts in the database. It fails when a message is
// still pending, or any of these is not 0:
//   - messages lost: acknowledged with a 200 but not stored;
//   - replies sent twice: a customer message with more than one decision,
//     or a reply or notice that no decision names;
//   - handoffs promised without a ticket: a notice whose decision names no
//     ticket, a handoff decision without one, a queued conversation without
//     an open ticket;
//   - outcomes that disagree: two 200s for one message_id that differ, or a
//     200 that differs from the decision stored for the message;
//   - handled messages without a decision.
//
// The run happens once, whatever -benchtime says; it takes one to two
// minutes on two cores: the messages, then the wait for those whose handler
// could not release them while the database was down, until their lease
// runs out. The log's table shows what the client saw and what is stored.
//
//	go test -run '^$' -bench Faults -benchtime 1x -timeout 30m ./cmd/relais/
func BenchmarkFaults(b *testing.B) {
	ctx := context.Background()
	pg, err := testdb.Start(ctx, testdb.Options{})
	if err != nil {
		b.Fatalf("%v\n%s", err, testdb.Help)
	}
	// Registered first, so that it runs after the replicas have stopped.
	b.Cleanup(func() {
		if err := pg.Stop(); err != nil {
			b.Error(err)
		}
	})
	if err := createVectorExtension(ctx, pg.URL()); err != nil {
		b.Fatal(err)
	}
	llm := newFaultChat(b)
	logs := &lockedBuffer{}
	c := &cli{t: b, logs: logs, env: map[string]string{
		"RELAIS_LOG_LEVEL":       "warn",
		"RELAIS_DATABASE_URL":    pg.URL(),
		"RELAIS_LLM_BASE_URL":    llm.srv.URL + "/v1",
		"RELAIS_CHAT_MODEL":      "fake-chat",
		"RELAIS_REQUEST_TIMEOUT": faultRequestTimeout.String(),
	}}
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
	replicas := []string{startServe(b, c), startServe(b, other)}

	run := newFaultRun(b, replicas)
	start := time.Now()
	run.deliverAll(pg, llm)
	runEnd := time.Now()
	sent := runEnd.Sub(start)
	pending, settled, err := waitSettled(ctx, pg.URL(), faultSettle)
	if err != nil {
		b.Fatal(err)
	}
	counts, err := countFaults(ctx, pg.URL(), run.messages, runEnd)
	if err != nil {
		b.Fatal(err)
	}
	counts.pending = pending
	run.report(b, counts, llm, logs.String(), sent, settled)
}

// createVectorExtension prepares the server's postgres database for Relais.
func createVectorExtension(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector")
	return err
}

// faultChat is an OpenAI-compatible chat model that answers every question
// from the first passage it is given, citing it, and writes a fixed handoff
// summary; while hang is set it answers nothing until the caller gives up.
type faultChat struct {
	srv           *httptest.Server
	hang          atomic.Bool
	hung, answers atomic.Int64
	// answersBefore is answers when the hang ended: the rest show that
	// the model was called again once it recovered.
	answersBefore atomic.Int64
}

var passagePattern = regexp.MustCompile(`(?s)<passage id="([^"]*)" title="[^"]*">\n(.*?)\n</passage>`)

func newFaultChat(b *testing.B) *faultChat {
	f := &faultChat{}
	done := make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
			ResponseFormat *json.RawMessage `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error"}}`, http.StatusBadRequest)
			return
		}
		if f.hang.Load() {
			f.hung.Add(1)
			select {
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		content := "The customer asked for a person; nothing was resolved yet."
		if req.ResponseFormat != nil {
			// An answer: the first passage, verbatim, is as grounded as an
			// answer gets.
			reply := map[string]any{"refuse": true, "answer": "", "citations": []string{}}
			if m := passagePattern.FindStringSubmatch(req.Messages[len(req.Messages)-1].Content); m != nil {
				reply = map[string]any{"refuse": false, "answer": m[2], "citations": []string{m[1]}}
			}
			raw, _ := json.Marshal(reply)
			content = string(raw)
			f.answers.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion", "created": time.Now().Unix(), "model": "fake-chat",
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": content}}},
			"usage": map[string]int{"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
		})
	}))
	b.Cleanup(func() {
		close(done)
		f.srv.Close()
	})
	return f
}

// faultMessage is one customer message of the run and what the client saw
// of it.
type faultMessage struct {
	id, customer, text string
	byHeader           bool // the id goes in the Idempotency-Key header

	mu        sync.Mutex
	outcomes  []faultOutcome // of every 200, in arrival order
	got503    bool
	firstSent time.Time
	accepted  time.Duration // from the first attempt to the first 200
	gaveUp    bool
}

// faultOutcome is what a 200 told the client.
type faultOutcome struct {
	ConversationID int64  `json:"conversation_id"`
	Action         string `json:"action"`
	Text           string `json:"text"`
	Reason         string `json:"reason"`
	HandoffID      string `json:"handoff_id"`
}

// faultRun sends the messages and keeps the client's tallies.
type faultRun struct {
	b        *testing.B
	replicas []string
	client   *http.Client
	messages []*faultMessage
	// retried marks the messages the client sends again on purpose:
	// 'c' at once, concurrently; 'l' later.
	retried map[*faultMessage]byte

	delivered atomic.Int64 // messages whose first delivery ended
	attempts  atomic.Int64
	retries   atomic.Int64 // attempts beyond each message's first
	async     sync.WaitGroup

	mu        sync.Mutex
	statuses  map[string]int // "200", "503", "504", "timeout", "connect", ...
	latencies []time.Duration
	// late200 counts the 200s that came after the request's deadline, by
	// action and reason.
	late200 map[string]int
	events  []string
}

// faultScript is what the benchmarks' customers say: the FAQ's questions
// and alternative phrasings, and the script's other kinds of message.
type faultScript struct {
	Questions                       []string `json:"-"`
	Unanswerable, Person, Smalltalk []string
}

func readFaultScript(b *testing.B) faultScript {
	var script faultScript
	raw, err := os.ReadFile(filepath.Join("testdata", "faults", "script.json"))
	if err == nil {
		err = json.Unmarshal(raw, &script)
	}
	if err != nil {
		b.Fatalf("read the script: %v", err)
	}
	faq, err := os.Open(filepath.Join("testdata", "faults", "faq.csv"))
	if err != nil {
		b.Fatal(err)
	}
	defer faq.Close()
	records, err := csv.NewReader(faq).ReadAll()
	if err != nil {
		b.Fatalf("read the FAQ: %v", err)
	}
	// Each article is asked about in the words of its question and of its
	// alternative phrasing.
	for _, rec := range records[1:] {
		script.Questions = append(script.Questions, rec[0], rec[2])
	}
	return script
}

func newFaultRun(b *testing.B, replicas []string) *faultRun {
	script := readFaultScript(b)
	questions := script.Questions
	r := &faultRun{b: b, replicas: replicas, retried: make(map[*faultMessage]byte), statuses: make(map[string]int), late200: make(map[string]int),
		client: &http.Client{Timeout: faultClientTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * faultWorkers}}}
	rng := rand.New(rand.NewPCG(10, 10))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	for c := range faultCustomers {
		for i := range faultPerCustomer {
			var text string
			switch k := rng.IntN(100); {
			case k < 60:
				text = pick(questions)
			case k < 75:
				text = pick(script.Smalltalk)
			case k < 93:
				text = pick(script.Unanswerable)
			default:
				text = pick(script.Person)
			}
			m := &faultMessage{id: fmt.Sprintf("fault-%d-%d", c, i), customer: fmt.Sprintf("customer-%d", c), text: text,
				byHeader: rng.IntN(2) == 0}
			r.messages = append(r.messages, m)
			if rng.Float64() < faultRetryShare {
				r.retried[m] = "cl"[rng.IntN(2)]
			}
		}
	}
	return r
}

// deliverAll sends every message and injects the faults as the run reaches
// them; it returns once every attempt, late retries included, has ended.
func (r *faultRun) deliverAll(pg *testdb.Server, llm *faultChat) {
	total := int64(len(r.messages))
	stop := make(chan struct{})
	var faults sync.WaitGroup
	faults.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		step := 0
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			done := float64(r.delivered.Load()) / float64(total)
			switch {
			case step == 0 && done >= faultHangFrom:
				llm.hang.Store(true)
				r.event("chat model hangs")
				step++
			case step == 1 && done >= faultHangTo:
				llm.hang.Store(false)
				llm.answersBefore.Store(llm.answers.Load())
				r.event("chat model answers again")
				step++
			case step == 2 && done >= faultRestartAt:
				r.event("PostgreSQL restart begins")
				start := time.Now()
				if err := pg.Restart(context.Background(), faultDBDown); err != nil {
					r.b.Errorf("restart PostgreSQL: %v", err)
				}
				r.event(fmt.Sprintf("PostgreSQL accepts connections again (%v after the restart began)", time.Since(start).Round(time.Millisecond)))
				step++
			}
		}
	})

	eachCustomerInOrder(faultWorkers, faultCustomers, faultPerCustomer, func(n int) {
		r.deliverOne(r.messages[n], n%len(r.replicas))
		r.delivered.Add(1)
	})
	r.async.Wait()
	close(stop)
	faults.Wait()
}

// deliverOne delivers m to replica, with the retry the run planned for it.
func (r *faultRun) deliverOne(m *faultMessage, replica int) {
	other := (replica + 1) % len(r.replicas)
	switch r.retried[m] {
	case 'c':
		r.async.Go(func() {
			r.retries.Add(1)
			r.attempt(m, other)
		})
	}
	r.deliver(m, replica)
	if r.retried[m] == 'l' {
		r.async.Go(func() {
			time.Sleep(time.Duration(200+rand.IntN(2800)) * time.Millisecond)
			r.retries.Add(1)
			r.deliver(m, other)
		})
	}
}

// deliver sends m until a 200, retrying attempts that timed out, failed to
// connect or got a 5xx, with backoff, alternately on each replica. A 4xx is
// not retried: the request itself is wrong.
func (r *faultRun) deliver(m *faultMessage, replica int) {
	backoff := 200 * time.Millisecond
	for try := range faultMaxTries {
		if try > 0 {
			r.retries.Add(1)
		}
		status, retryAfter := r.attempt(m, replica)
		switch {
		case status == http.StatusOK:
			return
		case status != 0 && status < 500:
			return
		}
		wait := max(backoff, retryAfter) + time.Duration(rand.IntN(100))*time.Millisecond
		time.Sleep(wait)
		backoff = min(2*backoff, 2*time.Second)
		replica = (replica + 1) % len(r.replicas)
	}
	m.mu.Lock()
	m.gaveUp = len(m.outcomes) == 0
	m.mu.Unlock()
}

// attempt sends m once to replica and records what came back. It returns
// the status (0 when none came) and the Retry-After the server asked for.
func (r *faultRun) attempt(m *faultMessage, replica int) (int, time.Duration) {
	body := map[string]any{"customer_id": m.customer, "text": m.text}
	if !m.byHeader {
		body["message_id"] = m.id
	}
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", r.replicas[replica]+"/v1/messages", bytes.NewReader(raw))
	if err != nil {
		r.b.Error(err)
		return 0, 0
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	if m.byHeader {
		req.Header.Set("Idempotency-Key", m.id)
	}
	r.attempts.Add(1)
	m.mu.Lock()
	if m.firstSent.IsZero() {
		m.firstSent = time.Now()
	}
	m.mu.Unlock()

	start := time.Now()
	resp, err := r.client.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	took := time.Since(start)
	if err != nil {
		kind := "error"
		var ne interface{ Timeout() bool }
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			kind = "timeout"
		case strings.Contains(err.Error(), "connection refused"):
			kind = "connect"
		}
		r.count(kind, 0)
		return 0, 0
	}
	r.count(strconv.Itoa(resp.StatusCode), took)
	switch {
	case resp.StatusCode == http.StatusOK:
		var out faultOutcome
		if err := json.Unmarshal(data, &out); err != nil {
			r.b.Errorf("message %s: a 200 whose body is not a decision: %q", m.id, data)
			return resp.StatusCode, 0
		}
		if took > faultRequestTimeout {
			r.mu.Lock()
			r.late200[strings.TrimSuffix(out.Action+"/"+out.Reason, "/")]++
			r.mu.Unlock()
		}
		m.mu.Lock()
		if len(m.outcomes) == 0 {
			m.accepted = time.Since(m.firstSent)
		}
		m.outcomes = append(m.outcomes, out)
		m.mu.Unlock()
	case resp.StatusCode == http.StatusServiceUnavailable:
		m.mu.Lock()
		m.got503 = true
		m.mu.Unlock()
	case resp.StatusCode < 500:
		r.b.Errorf("message %s: %d %s", m.id, resp.StatusCode, data)
	}
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, time.Duration(secs) * time.Second
}

func (r *faultRun) count(kind string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses[kind]++
	if kind == "200" {
		r.latencies = append(r.latencies, took)
	}
}

func (r *faultRun) event(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("%s at %d/%d messages", what, r.delivered.Load(), len(r.messages)))
}

// waitSettled waits, up to limit, until no customer message is pending,
// and returns how many still are and how long it waited.
func waitSettled(ctx context.Context, url string, limit time.Duration) (int, time.Duration, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	start := time.Now()
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM messages WHERE pending_until IS NOT NULL`).Scan(&n); err != nil {
			return 0, 0, err
		}
		if n == 0 || time.Since(start) > limit {
			return n, time.Since(start), nil
		}
		time.Sleep(time.Second)
	}
}

// faultCounts is what the database says after the run.
type faultCounts struct {
	stored, answered, replied, handedOff, silent, tickets int
	pending                                               int
	// The zero-numbers.
	lost, repliesTwice, promisesWithoutTicket int
	disagreeing, handledWithoutDecision       int
	// Details of the zero-numbers, for the log.
	details []string
	// Of the messages never acknowledged: stored anyway, and not stored.
	unackedStored, unackedMissing int
	ticketsWithoutNotice          int
	// late counts the decisions made after the client's last attempt: by
	// the resumers.
	late int
}

// countFaults counts in the database, and checks every message the client
// got a 200 for against what is stored.
func countFaults(ctx context.Context, url string, msgs []*faultMessage, runEnd time.Time) (faultCounts, error) {
	var fc faultCounts
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fc, err
	}
	defer conn.Close(ctx)
	one := func(dst *int, sql string) {
		if err == nil {
			err = conn.QueryRow(ctx, sql).Scan(dst)
		}
	}
	one(&fc.stored, `SELECT count(DISTINCT channel_message_id) FROM messages WHERE role = 'customer' AND channel = 'api'`)
	one(&fc.answered, `SELECT count(*) FROM decisions WHERE action = 'answer'`)
	one(&fc.replied, `SELECT count(*) FROM decisions WHERE action = 'reply'`)
	one(&fc.handedOff, `SELECT count(*) FROM decisions WHERE action = 'handoff' AND reason <> 'agent_owned'`)
	one(&fc.silent, `SELECT count(*) FROM decisions WHERE action = 'handoff' AND reason = 'agent_owned'`)
	one(&fc.tickets, `SELECT count(*) FROM handoff_tickets`)
	if err == nil {
		err = conn.QueryRow(ctx, `SELECT count(*) FROM decisions WHERE created_at > $1`, runEnd).Scan(&fc.late)
	}
	one(&fc.ticketsWithoutNotice, `SELECT count(*) FROM handoff_tickets t WHERE NOT EXISTS (SELECT 1 FROM decisions d WHERE d.ticket_id = t.id)`)
	var twiceDecided, orphanReplies, noticeWithoutTicket, handoffWithoutTicket, queuedWithoutTicket int
	one(&twiceDecided, `SELECT count(*) FROM (SELECT message_id FROM decisions WHERE message_id IS NOT NULL
GROUP BY message_id HAVING count(*) > 1) twice`)
	one(&orphanReplies, `SELECT count(*) FROM messages m WHERE m.role IN ('assistant', 'system')
AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.reply_id = m.id)`)
	one(&noticeWithoutTicket, `SELECT count(*) FROM messages m LEFT JOIN decisions d ON d.reply_id = m.id
WHERE m.role = 'system' AND d.ticket_id IS NULL`)
	one(&handoffWithoutTicket, `SELECT count(*) FROM decisions WHERE action = 'handoff' AND reason <> 'agent_owned' AND ticket_id IS NULL`)
	one(&queuedWithoutTicket, `SELECT count(*) FROM conversations c WHERE c.state = 'queued'
AND NOT EXISTS (SELECT 1 FROM handoff_tickets t WHERE t.conversation_id = c.id AND t.state IN ('queued', 'claimed'))`)
	one(&fc.handledWithoutDecision, `SELECT count(*) FROM messages m WHERE m.role = 'customer' AND m.pending_until IS NULL
AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.message_id = m.id)`)
	if err != nil {
		return fc, err
	}
	fc.repliesTwice = twiceDecided + orphanReplies
	fc.promisesWithoutTicket = noticeWithoutTicket + handoffWithoutTicket + queuedWithoutTicket
	for _, d := range []struct {
		n    int
		what string
	}{
		{twiceDecided, "customer messages with more than one decision"},
		{orphanReplies, "replies or notices no decision names"},
		{noticeWithoutTicket, "handoff notices whose decision names no ticket"},
		{handoffWithoutTicket, "handoff decisions without a ticket"},
		{queuedWithoutTicket, "queued conversations without an open ticket"},
	} {
		if d.n > 0 {
			fc.details = append(fc.details, fmt.Sprintf("%d %s", d.n, d.what))
		}
	}

	// The first decision of each stored message, to check the client's
	// 200s against.
	type storedTurn struct {
		conv, ticket int64
		action       string
		reason       string
		decided      bool
	}
	stored := make(map[string]storedTurn)
	rows, err := conn.Query(ctx, `SELECT m.channel_message_id, m.conversation_id, d.id IS NOT NULL,
    coalesce(d.action, ''), coalesce(d.reason, ''), coalesce(d.ticket_id, 0)
FROM messages m LEFT JOIN decisions d ON d.message_id = m.id
WHERE m.role = 'customer' AND m.channel = 'api' AND m.channel_message_id IS NOT NULL ORDER BY m.id, d.id`)
	if err != nil {
		return fc, err
	}
	for rows.Next() {
		var id string
		var t storedTurn
		if err := rows.Scan(&id, &t.conv, &t.decided, &t.action, &t.reason, &t.ticket); err != nil {
			rows.Close()
			return fc, err
		}
		if _, ok := stored[id]; !ok {
			stored[id] = t
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fc, err
	}
	for _, m := range msgs {
		t, ok := stored[m.id]
		if len(m.outcomes) == 0 {
			if ok {
				fc.unackedStored++
			} else {
				fc.unackedMissing++
			}
			continue
		}
		if !ok {
			fc.lost++
			if fc.lost <= 5 {
				fc.details = append(fc.details, fmt.Sprintf("lost: %s, acknowledged %d time(s)", m.id, len(m.outcomes)))
			}
			continue
		}
		first := m.outcomes[0]
		bad := ""
		for _, o := range m.outcomes[1:] {
			if o != first {
				bad = fmt.Sprintf("two 200s differ: %+v and %+v", first, o)
			}
		}
		ticket, _ := strconv.ParseInt(first.HandoffID, 10, 64)
		if t.decided && (first.ConversationID != t.conv || first.Action != t.action || first.Reason != t.reason || ticket != t.ticket) {
			bad = fmt.Sprintf("told %+v, stored conversation %d %s/%s ticket %d", first, t.conv, t.action, t.reason, t.ticket)
		}
		if bad != "" {
			fc.disagreeing++
			if fc.disagreeing <= 5 {
				fc.details = append(fc.details, "message "+m.id+": "+bad)
			}
		}
	}
	return fc, nil
}

// report logs the run as a table, reports the zero-numbers as metrics and
// fails the benchmark when one is not zero or a message is still pending.
func (r *faultRun) report(b *testing.B, fc faultCounts, llm *faultChat, logs string, sent, settled time.Duration) {
	b.Helper()
	var accepted, got503Only, gaveUp int
	var acceptLatency []time.Duration
	for _, m := range r.messages {
		switch {
		case len(m.outcomes) > 0:
			accepted++
			acceptLatency = append(acceptLatency, m.accepted)
		case m.got503:
			got503Only++
		}
		if m.gaveUp {
			gaveUp++
		}
	}
	statuses := make([]string, 0, len(r.statuses))
	for _, k := range slices.Sorted(maps.Keys(r.statuses)) {
		statuses = append(statuses, fmt.Sprintf("%s=%d", k, r.statuses[k]))
	}
	// go test keeps the first ten lines of a benchmark's log: the table
	// fits in them, and the details of a failure go with its error.
	var tb strings.Builder
	fmt.Fprintf(&tb, "fault run: %d messages from %d customers, %d workers, 2 replicas, sent in %v; %s; settled %v after the run",
		len(r.messages), faultCustomers, faultWorkers, sent.Round(time.Second), strings.Join(r.events, ", "), settled.Round(time.Second))
	row := func(what string, format string, args ...any) {
		fmt.Fprintf(&tb, "\n  %-9s "+format, append([]any{what}, args...)...)
	}
	row("client", "attempts %d (%s), retries %d (%d planned); accepted %d; never accepted %d (%d saw a 503, %d gave up): %d stored anyway, %d not stored",
		r.attempts.Load(), strings.Join(statuses, " "), r.retries.Load(), len(r.retried), accepted, len(r.messages)-accepted,
		got503Only, gaveUp, fc.unackedStored, fc.unackedMissing)
	var late []string
	lateTotal := 0
	for _, k := range slices.Sorted(maps.Keys(r.late200)) {
		late = append(late, fmt.Sprintf("%s=%d", k, r.late200[k]))
		lateTotal += r.late200[k]
	}
	row("latency", "p50/p95/max %.0f/%.0f/%.0f ms per 200 attempt, after the %v deadline: %d (%s); %.0f/%.0f/%.0f ms from first send to first 200",
		ms(percentile(r.latencies, 50)), ms(percentile(r.latencies, 95)), ms(percentile(r.latencies, 100)),
		faultRequestTimeout, lateTotal, strings.Join(late, " "),
		ms(percentile(acceptLatency, 50)), ms(percentile(acceptLatency, 95)), ms(percentile(acceptLatency, 100)))
	row("stored", "%d messages; answered %d, replied %d, handed off %d (%d tickets, %d without a notice), silent %d; %d decided after the run",
		fc.stored, fc.answered, fc.replied, fc.handedOff, fc.tickets, fc.ticketsWithoutNotice, fc.silent, fc.late)
	row("serve", "chat model answered %d calls (%d after the hang), hung on %d; log: %d errors, %d failed releases, %d handler panics",
		llm.answers.Load(), llm.answers.Load()-llm.answersBefore.Load(), llm.hung.Load(), strings.Count(logs, "level=ERROR"), strings.Count(logs, "release the pending message"),
		strings.Count(logs, "handler panic"))
	row("MUST BE 0", "messages lost %d | replies sent twice %d | handoffs promised without a ticket %d",
		fc.lost, fc.repliesTwice, fc.promisesWithoutTicket)
	row("", "outcomes that disagree %d | handled without a decision %d | still pending %d",
		fc.disagreeing, fc.handledWithoutDecision, fc.pending)
	b.Log(tb.String())

	b.ReportMetric(float64(fc.lost), "lost")
	b.ReportMetric(float64(fc.repliesTwice), "replies_twice")
	b.ReportMetric(float64(fc.promisesWithoutTicket), "promises_without_ticket")
	b.ReportMetric(ms(percentile(r.latencies, 50)), "p50_ms")
	b.ReportMetric(ms(percentile(r.latencies, 95)), "p95_ms")
	b.ReportMetric(0, "ns/op") // one run of minutes, mostly waiting out leases

	for _, z := range []struct {
		n    int
		what string
	}{
		{fc.lost, "messages acknowledged with a 200 were lost"},
		{fc.repliesTwice, "replies were sent twice"},
		{fc.promisesWithoutTicket, "handoffs were promised without a ticket"},
		{fc.disagreeing, "messages got outcomes that disagree"},
		{fc.handledWithoutDecision, "messages were handled without a decision"},
		{fc.pending, "messages are still pending after " + faultSettle.String()},
		{strings.Count(logs, "handler panic"), "handler panics were logged"},
	} {
		if z.n > 0 {
			b.Errorf("%d %s", z.n, z.what)
		}
	}
	if len(fc.details) > 0 {
		b.Errorf("details:\n%s", strings.Join(fc.details, "\n"))
	}
	// A run that stopped reaching these paths would test something else.
	if fc.answered == 0 || fc.handedOff == 0 {
		b.Errorf("answered %d, handed off %d: the run must do both", fc.answered, fc.handedOff)
	}
	if llm.answers.Load() == 0 || llm.hung.Load() == 0 {
		b.Errorf("the chat model answered %d and hung on %d calls: the run must see both", llm.answers.Load(), llm.hung.Load())
	}
	if r.statuses["503"] == 0 && r.statuses["connect"] == 0 && r.statuses["timeout"] == 0 {
		b.Errorf("no attempt failed: the database restart did not reach the clients")
	}
}

// eachCustomerInOrder calls send for every message n of customers
// customers of perCustomer messages each (message i of customer c is n =
// c*perCustomer + i), workers customers at a time, each customer's messages
// one after the other, as a person writes; it returns when all are sent.
func eachCustomerInOrder(workers, customers, perCustomer int, send func(n int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range next {
				for i := range perCustomer {
					send(c*perCustomer + i)
				}
			}
		})
	}
	for c := range customers {
		next <- c
	}
	close(next)
	wg.Wait()
}
