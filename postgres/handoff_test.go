package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	handofftest "github.com/relais-ai/relais/handoff/storetest"
	"github.com/relais-ai/relais/internal/testdb"
)

func TestHandoffStoreContract(t *testing.T) {
	handofftest.Run(t, func(t *testing.T) handofftest.Stores {
		db := openDB(t)
		return handofftest.Stores{Handoffs: db, Conversations: db}
	})
}

func TestHandoffTimestampsUseTheClock(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	handofftest.CheckClock(t, handofftest.Stores{Handoffs: db, Conversations: db}, func(now func() time.Time) { db.Now = now })
}

// Enqueue, claim, expiry and resolve wake up listeners on relais_handoffs
// with the ticket id.
func TestHandoffNotifies(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+handoffNotifyChannel); err != nil {
		t.Fatal(err)
	}
	r, err := db.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := db.Enqueue(ctx, handoff.Ticket{ConversationID: r.Conversation.ID, Queue: "general", Reason: "low_confidence",
		DueAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Claim(ctx, tk.ID, "ann", time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := db.ExpireClaims(ctx, time.Now().Add(2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("ExpireClaims = %d, %v; want 1", n, err)
	}
	if _, err := db.Claim(ctx, tk.ID, "bea", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Resolve(ctx, tk.ID, "bea"); err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"enqueue", "claim", "expire", "claim again", "resolve"} {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("%s: no notification: %v", step, err)
		}
		if n.Channel != handoffNotifyChannel || n.Payload != fmt.Sprint(tk.ID) {
			t.Errorf("%s: notification %q on %q, want %d on %q", step, n.Payload, n.Channel, tk.ID, handoffNotifyChannel)
		}
	}
}

// TestHandoffConcurrentInstances stands three Relais processes on one
// database (three pools) and lets 50 agents claim 1,000 tickets through
// them while customers keep writing to the conversations being claimed:
// every ticket is claimed exactly once, ticket and conversation agree, and
// no customer message is lost.
func TestHandoffConcurrentInstances(t *testing.T) {
	t.Parallel()
	const (
		instances      = 3
		claimers       = 50
		tickets        = 1000
		chattyCustomer = 5 // every fifth customer writes while claims run
		messagesEach   = 3 // messages each chatty customer sends
		fillers        = 8 // goroutines filing the tickets
	)
	url := testdb.NewDatabase(t)
	var dbs []*DB
	for range instances {
		db, err := Open(t.Context(), url, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		dbs = append(dbs, db)
	}
	ctx := t.Context()

	// File the tickets through every instance.
	start := time.Now()
	conversations := make([]int64, tickets)
	var wg sync.WaitGroup
	for f := range fillers {
		wg.Go(func() {
			for i := f; i < tickets; i += fillers {
				db := dbs[i%instances]
				r, err := db.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: fmt.Sprintf("c%d", i), Text: "help"})
				if err != nil {
					t.Errorf("Receive: %v", err)
					return
				}
				queue := "general"
				if i%2 == 1 {
					queue = "billing"
				}
				_, err = db.Enqueue(ctx, handoff.Ticket{ConversationID: r.Conversation.ID, Queue: queue,
					Priority: handoff.Priority(i % 3), Reason: "low_confidence", DueAt: time.Now().Add(time.Hour)})
				if err != nil {
					t.Errorf("Enqueue: %v", err)
					return
				}
				conversations[i] = r.Conversation.ID
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("filed %d tickets through %d instances in %v", tickets, instances, time.Since(start))

	// Claim them all while customers write.
	start = time.Now()
	var (
		mu       sync.Mutex
		claimant = map[int64]string{}
		claims   atomic.Int64
	)
	for c := range claimers {
		agent := fmt.Sprintf("agent%d", c)
		db := dbs[c%instances]
		// Some agents serve one queue, the others every queue.
		var serves []string
		switch c % 3 {
		case 1:
			serves = []string{"billing"}
		case 2:
			serves = []string{"general", "billing"}
		}
		wg.Go(func() {
			for {
				tk, err := db.ClaimNext(ctx, agent, serves, time.Hour)
				if errors.Is(err, relais.ErrNotFound) {
					return
				}
				if err != nil {
					t.Errorf("ClaimNext(%s): %v", agent, err)
					return
				}
				claims.Add(1)
				mu.Lock()
				if prev, ok := claimant[tk.ID]; ok {
					t.Errorf("ticket %d claimed by %s and by %s", tk.ID, prev, agent)
				}
				claimant[tk.ID] = agent
				mu.Unlock()
			}
		})
	}
	var sent atomic.Int64
	for i := 0; i < tickets; i += chattyCustomer {
		wg.Go(func() {
			db := dbs[(i+1)%instances]
			for j := range messagesEach {
				_, err := db.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: fmt.Sprintf("c%d", i),
					ChannelMessageID: fmt.Sprintf("wamid.%d.%d", i, j), Text: "are you there?"})
				if err != nil {
					t.Errorf("Receive racing the claims: %v", err)
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d claimers on %d instances claimed %d tickets in %v (%.0f claims/s) while %d customer messages arrived",
		claimers, instances, claims.Load(), elapsed, float64(claims.Load())/elapsed.Seconds(), sent.Load())

	if n := claims.Load(); n != tickets || len(claimant) != tickets {
		t.Errorf("%d claims of %d distinct tickets, want %d of %d", n, len(claimant), tickets, tickets)
	}
	db := dbs[0]
	var wrong, badMessages int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM handoff_tickets t JOIN conversations c ON c.id = t.conversation_id
WHERE t.state <> 'claimed' OR c.state <> 'agent' OR c.agent_id <> t.agent_id`).Scan(&wrong)
	if err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Errorf("%d tickets not claimed, or disagreeing with their conversation", wrong)
	}
	// Each conversation: its first message, plus the chatty customers'.
	err = db.pool.QueryRow(ctx, `SELECT count(*) FROM conversations c
WHERE (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)
   <> 1 + CASE WHEN substr(c.customer_id, 2)::int % $1 = 0 THEN $2 ELSE 0 END`, chattyCustomer, messagesEach).Scan(&badMessages)
	if err != nil {
		t.Fatal(err)
	}
	if badMessages != 0 {
		t.Errorf("%d conversations lost or duplicated customer messages", badMessages)
	}
	var transitions int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM transitions`).Scan(&transitions); err != nil {
		t.Fatal(err)
	}
	if transitions != 2*tickets {
		t.Errorf("%d transitions recorded, want %d (queued, then claimed, once each)", transitions, 2*tickets)
	}
	for _, id := range conversations {
		if id == 0 {
			t.Fatal("a ticket was not filed")
		}
	}
}

func TestDraftStoreContract(t *testing.T) {
	handofftest.RunDrafts(t, func(t *testing.T) handoff.DraftStore { return openDB(t) })
}

func TestPresenceContract(t *testing.T) {
	handofftest.RunPresence(t, func(t *testing.T) handoff.PresenceStore { return openDB(t) })
}

// BenchmarkExpireClaims measures one ExpireClaims call returning a full
// batch (expireBatch tickets) to the queue; the claims are put back between
// calls, untimed.
//
//	go test -run '^$' -bench ExpireClaims -benchtime 200x ./postgres/
func BenchmarkExpireClaims(b *testing.B) {
	db := openDB(b)
	ctx := b.Context()
	for i := range expireBatch {
		r, err := db.Receive(ctx, conversation.Inbound{Channel: "whatsapp", CustomerID: fmt.Sprintf("c%d", i), Text: "help"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Enqueue(ctx, handoff.Ticket{ConversationID: r.Conversation.ID, Queue: "general",
			Reason: "low_confidence", DueAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	claimAll := func() {
		_, err := db.pool.Exec(ctx, `
WITH t AS (
    UPDATE handoff_tickets SET state = 'claimed', agent_id = 'ann', claim_expires_at = now() - interval '1 minute'
    RETURNING conversation_id
)
UPDATE conversations c SET state = 'agent', agent_id = 'ann' FROM t WHERE c.id = t.conversation_id`)
		if err != nil {
			b.Fatal(err)
		}
	}
	claimAll()
	for b.Loop() {
		n, err := db.ExpireClaims(ctx, time.Now())
		if err != nil || n != expireBatch {
			b.Fatalf("ExpireClaims = %d, %v; want %d", n, err, expireBatch)
		}
		b.StopTimer()
		claimAll()
		b.StartTimer()
	}
}

func TestCustomerHistoryContract(t *testing.T) {
	handofftest.RunHistory(t, func(t *testing.T) handofftest.HistoryStores {
		db := openDB(t)
		return handofftest.HistoryStores{Stores: handofftest.Stores{Handoffs: db, Conversations: db}, History: db}
	})
}

func TestReplyToolsContract(t *testing.T) {
	handofftest.RunReplyTools(t, func(t *testing.T) (handoff.ReplyTools, conversation.Store) {
		db := openDB(t)
		return db, db
	})
}
