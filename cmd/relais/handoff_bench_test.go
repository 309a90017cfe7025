package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/internal/testdb"
	"github.com/relais-ai/relais/postgres"
)

// BenchmarkClaims measures the handoff queue's throughput on PostgreSQL:
// per iteration, claimTickets queued tickets are claimed by claimers
// concurrent ClaimNext callers until the queue is empty. Reports claims/s.
func BenchmarkClaims(b *testing.B) {
	const (
		claimTickets = 400
		claimers     = 8
	)
	ctx := context.Background()
	db, err := postgres.Open(ctx, testdb.NewDatabase(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var (
		total   int64
		elapsed time.Duration
	)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		for j := range claimTickets {
			r, err := db.Receive(ctx, conversation.Inbound{Channel: "bench", CustomerID: fmt.Sprintf("c%d-%d", i, j), Text: "help"})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.Enqueue(ctx, handoff.Ticket{ConversationID: r.Conversation.ID, Queue: "general",
				Reason: "customer_request", Priority: handoff.Priority(j % 3), DueAt: time.Now().Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		var (
			wg      sync.WaitGroup
			claimed atomic.Int64
			failed  atomic.Value
		)
		for a := range claimers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				agent := fmt.Sprintf("agent%d", a)
				for {
					_, err := db.ClaimNext(ctx, agent, nil, time.Hour)
					if errors.Is(err, relais.ErrNotFound) {
						return
					}
					if err != nil {
						failed.Store(err)
						return
					}
					claimed.Add(1)
				}
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
		if n := claimed.Load(); n != claimTickets {
			b.Fatalf("claimed %d tickets, want %d", n, claimTickets)
		}
		total += claimed.Load()
	}
	if elapsed > 0 {
		b.ReportMetric(float64(total)/elapsed.Seconds(), "claims/s")
	}
}

// BenchmarkHandoffNotification measures, on a running `relais serve` over
// PostgreSQL, the time from a customer's POST /v1/messages that hands the
// conversation off to the "ticket" event for it on an open GET /v1/events
// stream. The hub polls every 2 s; LISTEN/NOTIFY wakes it at once, so the
// latency should be far below that. Reports p50_ms and p95_ms (from the
// start of the POST to the event), and post_p50_ms, the POST's own round
// trip, for scale: the event often arrives before the POST's answer.
func BenchmarkHandoffNotification(b *testing.B) {
	const handoffs = 50
	c := newCLI(b, "postgres")
	ingestFAQ(b, c)
	base := startServe(b, c)
	tickets := benchEvents(b, base, testToken)

	// Let the hub prime itself (its first poll only records the state).
	time.Sleep(500 * time.Millisecond)
	var fromPost, roundTrip []time.Duration
	for i := 0; b.Loop(); i++ {
		for j := range handoffs {
			body, _ := json.Marshal(map[string]any{"customer_id": fmt.Sprintf("bench-%d-%d", i, j), "text": "I want to talk to a human"})
			req, _ := http.NewRequest("POST", base+"/v1/messages", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Content-Type", "application/json")
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answered := time.Now()
			var v struct {
				Action         string `json:"action"`
				ConversationID int64  `json:"conversation_id"`
			}
			if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &v) != nil || v.Action != "handoff" {
				b.Fatalf("POST /v1/messages: %d %s, want a handoff", resp.StatusCode, raw)
			}
			timeout := time.After(10 * time.Second)
		wait:
			for {
				select {
				case ev := <-tickets:
					if ev.conversationID == v.ConversationID && ev.state == "queued" {
						fromPost = append(fromPost, ev.at.Sub(start))
						roundTrip = append(roundTrip, answered.Sub(start))
						break wait
					}
				case <-timeout:
					b.Fatalf("no ticket event for conversation %d within 10s", v.ConversationID)
				}
			}
		}
	}
	b.ReportMetric(ms(percentile(fromPost, 50)), "p50_ms")
	b.ReportMetric(ms(percentile(fromPost, 95)), "p95_ms")
	b.ReportMetric(ms(percentile(roundTrip, 50)), "post_p50_ms")
	b.ReportMetric(0, "ns/op") // wall time per 50 handoffs says little here
}

// ticketArrival is a "ticket" event as the stream delivered it.
type ticketArrival struct {
	conversationID int64
	state          string
	at             time.Time
}

// benchEvents opens GET /v1/events and returns the channel of its ticket
// events, stamped on arrival. The stream closes when the benchmark ends.
func benchEvents(b *testing.B, base, token string) <-chan ticketArrival {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		b.Fatalf("GET /v1/events: %d", resp.StatusCode)
	}
	out := make(chan ticketArrival, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
				continue
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok && name == "ticket" {
				var t struct {
					ConversationID int64  `json:"conversation_id"`
					State          string `json:"state"`
				}
				if json.Unmarshal([]byte(v), &t) == nil {
					select {
					case out <- ticketArrival{conversationID: t.ConversationID, state: t.State, at: time.Now()}:
					default:
					}
				}
			}
			if line == "" {
				name = ""
			}
		}
	}()
	b.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	return out
}
