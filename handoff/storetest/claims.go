// Claims: taking a ticket from the queue (ClaimNext) or by id (Claim),
// never twice; extending, expiring and reassigning a claim; and what an
// agent who does not hold the claim is refused.

package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/internal/testcheck"
)

func testClaimOrder(t *testing.T, s Stores) {
	ctx := t.Context()
	normal1 := handOff(t, s, "c1", "general", handoff.Normal)
	urgent := handOff(t, s, "c2", "general", handoff.Urgent)
	normal2 := handOff(t, s, "c3", "general", handoff.Normal)
	high := handOff(t, s, "c4", "general", handoff.High)
	want := []int64{urgent.ID, high.ID, normal1.ID, normal2.ID}
	for i, id := range want {
		before := time.Now()
		got, err := s.Handoffs.ClaimNext(ctx, "ann", nil, ttl)
		if err != nil {
			t.Fatalf("ClaimNext #%d: %v", i, err)
		}
		after := time.Now()
		if got.ID != id {
			t.Fatalf("ClaimNext #%d = ticket %d, want %d (priority, then age: %v)", i, got.ID, id, want)
		}
		if got.State != handoff.Claimed || got.AgentID != "ann" {
			t.Errorf("claimed ticket: State %s, AgentID %q", got.State, got.AgentID)
		}
		testcheck.Within(t, "ClaimExpiresAt", got.ClaimExpiresAt, before.Add(ttl), after.Add(ttl))
		_, c := checkAgree(t, s, id)
		if c.AgentID != "ann" {
			t.Errorf("conversation AgentID %q, want ann", c.AgentID)
		}
		checkTransition(t, lastTransition(t, s, c.ID), conversation.Queued, conversation.Agent, "agent:ann")
	}
	_, err := s.Handoffs.ClaimNext(ctx, "ann", nil, ttl)
	testcheck.WantErr(t, "ClaimNext of an empty queue", err, relais.ErrNotFound)
}

func testClaimQueues(t *testing.T, s Stores) {
	ctx := t.Context()
	general := handOff(t, s, "c1", "general", handoff.Urgent)
	billing := handOff(t, s, "c2", "billing", handoff.Normal)
	legal := handOff(t, s, "c3", "legal", handoff.Normal)

	got, err := s.Handoffs.ClaimNext(ctx, "ann", []string{"billing"}, ttl)
	if err != nil || got.ID != billing.ID {
		t.Fatalf("ClaimNext(billing) = %d, %v; want %d", got.ID, err, billing.ID)
	}
	_, err = s.Handoffs.ClaimNext(ctx, "ann", []string{"billing"}, ttl)
	testcheck.WantErr(t, "ClaimNext(billing) with billing empty", err, relais.ErrNotFound)
	_, err = s.Handoffs.ClaimNext(ctx, "ann", []string{"nobody-files-here"}, ttl)
	testcheck.WantErr(t, "ClaimNext of an unknown queue", err, relais.ErrNotFound)

	got, err = s.Handoffs.ClaimNext(ctx, "bea", []string{"legal", "general"}, ttl)
	if err != nil || got.ID != general.ID {
		t.Fatalf("ClaimNext(legal, general) = %d, %v; want the urgent %d", got.ID, err, general.ID)
	}
	got, err = s.Handoffs.ClaimNext(ctx, "bea", []string{}, ttl)
	if err != nil || got.ID != legal.ID {
		t.Fatalf("ClaimNext(every queue) = %d, %v; want %d", got.ID, err, legal.ID)
	}
}

func testClaimInvalid(t *testing.T, s Stores) {
	ctx := t.Context()
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	_, err := s.Handoffs.ClaimNext(ctx, "", nil, ttl)
	testcheck.WantErr(t, "ClaimNext without agent", err, relais.ErrInvalid)
	_, err = s.Handoffs.ClaimNext(ctx, "ann", nil, 0)
	testcheck.WantErr(t, "ClaimNext with ttl 0", err, relais.ErrInvalid)
	_, err = s.Handoffs.Claim(ctx, tk.ID, "", ttl)
	testcheck.WantErr(t, "Claim without agent", err, relais.ErrInvalid)
	_, err = s.Handoffs.Claim(ctx, tk.ID, "ann", -time.Second)
	testcheck.WantErr(t, "Claim with a negative ttl", err, relais.ErrInvalid)
	checkAgree(t, s, tk.ID)
	if got := getTicket(t, s, tk.ID); got.State != handoff.Queued {
		t.Errorf("refused claims left the ticket %s", got.State)
	}
}

func testClaimNeverTwice(t *testing.T, s Stores) {
	const tickets, claimers = 30, 6
	var ids []int64
	for i := range tickets {
		ids = append(ids, handOff(t, s, fmt.Sprintf("c%d", i), "general", handoff.Priority(i%3)).ID)
	}
	var mu sync.Mutex
	got := map[int64]string{}
	var wg sync.WaitGroup
	for a := range claimers {
		agent := fmt.Sprintf("agent%d", a)
		wg.Go(func() {
			for {
				tk, err := s.Handoffs.ClaimNext(t.Context(), agent, nil, ttl)
				if errors.Is(err, relais.ErrNotFound) {
					return
				}
				if err != nil {
					t.Errorf("ClaimNext(%s): %v", agent, err)
					return
				}
				mu.Lock()
				if prev, ok := got[tk.ID]; ok {
					t.Errorf("ticket %d claimed by %s and %s", tk.ID, prev, agent)
				}
				got[tk.ID] = agent
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != tickets {
		t.Errorf("%d tickets claimed, want %d", len(got), tickets)
	}
	for _, id := range ids {
		tk, _ := checkAgree(t, s, id)
		if tk.State != handoff.Claimed || tk.AgentID != got[id] {
			t.Errorf("ticket %d: %s by %q, want claimed by %q", id, tk.State, tk.AgentID, got[id])
		}
	}
}

func testClaimSpecific(t *testing.T, s Stores) {
	ctx := t.Context()
	first := handOff(t, s, "c1", "general", handoff.Urgent)
	second := handOff(t, s, "c2", "general", handoff.Normal)
	got := claim(t, s, second.ID, "ann")
	if got.ID != second.ID || got.State != handoff.Claimed || got.AgentID != "ann" {
		t.Errorf("Claim = %+v", got)
	}
	checkAgree(t, s, second.ID)
	checkTransition(t, lastTransition(t, s, second.ConversationID), conversation.Queued, conversation.Agent, "agent:ann")
	_, err := s.Handoffs.Claim(ctx, second.ID, "bea", ttl)
	testcheck.WantErr(t, "Claim of a claimed ticket", err, relais.ErrConflict)
	if tk := getTicket(t, s, second.ID); tk.AgentID != "ann" {
		t.Errorf("refused claim gave the ticket to %q", tk.AgentID)
	}
	_, err = s.Handoffs.Claim(ctx, 1<<40, "bea", ttl)
	testcheck.WantErr(t, "Claim of an unknown ticket", err, relais.ErrNotFound)
	if tk := getTicket(t, s, first.ID); tk.State != handoff.Queued {
		t.Errorf("the other ticket is %s", tk.State)
	}
}

func testClaimSpecificConcurrent(t *testing.T, s Stores) {
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	const agents = 5
	errs := make([]error, agents)
	var wg sync.WaitGroup
	for i := range agents {
		wg.Go(func() {
			_, errs[i] = s.Handoffs.Claim(t.Context(), tk.ID, fmt.Sprintf("agent%d", i), ttl)
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, relais.ErrConflict):
			t.Errorf("agent%d: %v, want success or relais.ErrConflict", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d agents claimed the ticket, want 1", won)
	}
	ts, err := s.Conversations.Transitions(t.Context(), tk.ConversationID)
	if err != nil || len(ts) != 2 {
		t.Errorf("transitions %+v, %v: want bot -> queued -> agent", ts, err)
	}
	checkAgree(t, s, tk.ID)
}

func testExtendClaim(t *testing.T, s Stores) {
	ctx := t.Context()
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	held, err := s.Handoffs.Claim(ctx, tk.ID, "ann", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Handoffs.ExtendClaim(ctx, tk.ID, "ann", time.Hour)
	if err != nil {
		t.Fatalf("ExtendClaim: %v", err)
	}
	if !got.ClaimExpiresAt.After(held.ClaimExpiresAt.Add(50 * time.Minute)) {
		t.Errorf("ClaimExpiresAt %v after extending by an hour; was %v", got.ClaimExpiresAt, held.ClaimExpiresAt)
	}
	if back := getTicket(t, s, tk.ID); !back.ClaimExpiresAt.Equal(got.ClaimExpiresAt) {
		t.Errorf("read back ClaimExpiresAt %v, want %v", back.ClaimExpiresAt, got.ClaimExpiresAt)
	}
	_, err = s.Handoffs.ExtendClaim(ctx, tk.ID, "bea", time.Hour)
	testcheck.WantErr(t, "ExtendClaim by another agent", err, relais.ErrConflict)
	_, err = s.Handoffs.ExtendClaim(ctx, tk.ID, "ann", 0)
	testcheck.WantErr(t, "ExtendClaim by 0", err, relais.ErrInvalid)
	queued := handOff(t, s, "bob", "general", handoff.Normal)
	_, err = s.Handoffs.ExtendClaim(ctx, queued.ID, "ann", time.Hour)
	testcheck.WantErr(t, "ExtendClaim of a queued ticket", err, relais.ErrConflict)
	_, err = s.Handoffs.ExtendClaim(ctx, 1<<40, "ann", time.Hour)
	testcheck.WantErr(t, "ExtendClaim of an unknown ticket", err, relais.ErrNotFound)
}

func testExpire(t *testing.T, s Stores) {
	ctx := t.Context()
	short := handOff(t, s, "alice", "general", handoff.Normal)
	long := handOff(t, s, "bob", "general", handoff.Normal)
	if _, err := s.Handoffs.Claim(ctx, short.ID, "ann", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Handoffs.Claim(ctx, long.ID, "ann", time.Hour); err != nil {
		t.Fatal(err)
	}
	n, err := s.Handoffs.ExpireClaims(ctx, time.Now())
	if err != nil || n != 0 {
		t.Fatalf("ExpireClaims(now) = %d, %v; want nothing expired yet", n, err)
	}
	n, err = s.Handoffs.ExpireClaims(ctx, time.Now().Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("ExpireClaims(in 2 minutes) = %d, %v; want 1", n, err)
	}
	tk, c := checkAgree(t, s, short.ID)
	if tk.State != handoff.Queued || tk.AgentID != "" || c.AgentID != "" {
		t.Errorf("expired ticket: %s by %q, conversation %q's; want queued, nobody's", tk.State, tk.AgentID, c.AgentID)
	}
	checkTransition(t, lastTransition(t, s, short.ConversationID), conversation.Agent, conversation.Queued, "system")
	if tk, _ := checkAgree(t, s, long.ID); tk.State != handoff.Claimed {
		t.Errorf("the unexpired claim is %s", tk.State)
	}

	// The departed agent lost it; a colleague can take it.
	_, err = s.Handoffs.Resolve(ctx, short.ID, "ann")
	testcheck.WantErr(t, "Resolve of an expired claim", err, relais.ErrConflict)
	got, err := s.Handoffs.ClaimNext(ctx, "bea", nil, ttl)
	if err != nil || got.ID != short.ID {
		t.Fatalf("ClaimNext after expiry = %d, %v; want %d", got.ID, err, short.ID)
	}
	checkAgree(t, s, short.ID)
	_, err = s.Handoffs.ExtendClaim(ctx, short.ID, "ann", ttl)
	testcheck.WantErr(t, "ExtendClaim by the departed agent", err, relais.ErrConflict)
}

func testWrongAgent(t *testing.T, s Stores) {
	ctx := t.Context()
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	held := claim(t, s, tk.ID, "ann")
	calls := map[string]func() error{
		"Resolve":     func() error { _, err := s.Handoffs.Resolve(ctx, tk.ID, "bea"); return err },
		"Release":     func() error { _, err := s.Handoffs.Release(ctx, tk.ID, "bea"); return err },
		"Reassign":    func() error { _, err := s.Handoffs.Reassign(ctx, tk.ID, "bea", "cid", ttl); return err },
		"ExtendClaim": func() error { _, err := s.Handoffs.ExtendClaim(ctx, tk.ID, "bea", ttl); return err },
	}
	for name, call := range calls {
		testcheck.WantErr(t, name+" by an agent who does not hold the ticket", call(), relais.ErrConflict)
	}
	got, c := checkAgree(t, s, tk.ID)
	if got.State != handoff.Claimed || got.AgentID != "ann" || !got.ClaimExpiresAt.Equal(held.ClaimExpiresAt) || c.AgentID != "ann" {
		t.Errorf("refused calls changed the ticket: %+v", got)
	}
	ts, err := s.Conversations.Transitions(ctx, tk.ConversationID)
	if err != nil || len(ts) != 2 {
		t.Errorf("refused calls recorded transitions: %+v, %v", ts, err)
	}
	for name, call := range map[string]func() error{
		"Resolve": func() error { _, err := s.Handoffs.Resolve(ctx, tk.ID, ""); return err },
		"Release": func() error { _, err := s.Handoffs.Release(ctx, tk.ID, ""); return err },
	} {
		testcheck.WantErr(t, name+" without agent", call(), relais.ErrInvalid)
	}
	_, err = s.Handoffs.Resolve(ctx, 1<<40, "ann")
	testcheck.WantErr(t, "Resolve of an unknown ticket", err, relais.ErrNotFound)
}

func testReassign(t *testing.T, s Stores) {
	ctx := t.Context()
	tk := handOff(t, s, "alice", "general", handoff.Normal)
	claim(t, s, tk.ID, "ann")
	got, err := s.Handoffs.Reassign(ctx, tk.ID, "ann", "bea", ttl)
	if err != nil {
		t.Fatalf("Reassign: %v", err)
	}
	if got.State != handoff.Claimed || got.AgentID != "bea" {
		t.Errorf("reassigned ticket: %s by %q, want claimed by bea", got.State, got.AgentID)
	}
	_, c := checkAgree(t, s, tk.ID)
	if c.State != conversation.Agent || c.AgentID != "bea" {
		t.Errorf("conversation %s, %q's; want bea's", c.State, c.AgentID)
	}
	ts, err := s.Conversations.Transitions(ctx, tk.ConversationID)
	if err != nil || len(ts) != 4 {
		t.Fatalf("transitions %+v, %v: want bot->queued, queued->agent, then the reassignment's two", ts, err)
	}
	checkTransition(t, ts[2], conversation.Agent, conversation.Queued, "agent:ann")
	checkTransition(t, ts[3], conversation.Queued, conversation.Agent, "agent:bea")

	_, err = s.Handoffs.Resolve(ctx, tk.ID, "ann")
	testcheck.WantErr(t, "Resolve by the former holder", err, relais.ErrConflict)
	_, err = s.Handoffs.Reassign(ctx, tk.ID, "bea", "bea", ttl)
	testcheck.WantErr(t, "Reassign to oneself", err, relais.ErrInvalid)
	_, err = s.Handoffs.Reassign(ctx, tk.ID, "bea", "", ttl)
	testcheck.WantErr(t, "Reassign to nobody", err, relais.ErrInvalid)
	queued := handOff(t, s, "bob", "general", handoff.Normal)
	_, err = s.Handoffs.Reassign(ctx, queued.ID, "ann", "bea", ttl)
	testcheck.WantErr(t, "Reassign of a queued ticket", err, relais.ErrConflict)
	if _, err := s.Handoffs.Resolve(ctx, tk.ID, "bea"); err != nil {
		t.Errorf("Resolve by the new holder: %v", err)
	}
}
