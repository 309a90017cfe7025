package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/internal/testcheck"
)

func testTransitionStateMachine(t *testing.T, s conversation.Store) {
	for _, from := range states {
		for _, to := range states {
			t.Run(fmt.Sprintf("%s-%s", from, to), func(t *testing.T) {
				c := moveTo(t, s, start(t, s, fmt.Sprintf("customer-%s-%s", from, to)).ID, from)
				n := len(transitions(t, s, c.ID))
				actor := "system"
				if to == conversation.Agent {
					actor = "agent:bob"
				}
				got, err := s.Transition(t.Context(), c.ID, from, to, actor, "storetest")
				if !conversation.CanTransition(from, to) {
					testcheck.WantErr(t, fmt.Sprintf("Transition %s -> %s", from, to), err, relais.ErrConflict)
					if d := testcheck.Diff(c, get(t, s, c.ID)); d != "" {
						t.Errorf("a refused transition changed the conversation (-want +got):\n%s", d)
					}
					if m := len(transitions(t, s, c.ID)); m != n {
						t.Errorf("a refused transition recorded %d transitions", m-n)
					}
					return
				}
				if err != nil {
					t.Fatalf("Transition %s -> %s: %v", from, to, err)
				}
				if got.State != to || got.ID != c.ID {
					t.Errorf("Transition returned conversation %d in %s, want %d in %s", got.ID, got.State, c.ID, to)
				}
				if d := testcheck.Diff(got, get(t, s, c.ID)); d != "" {
					t.Errorf("Conversation differs from what Transition returned (-want +got):\n%s", d)
				}
				ts := transitions(t, s, c.ID)
				if len(ts) != n+1 {
					t.Fatalf("%d transitions recorded, want 1", len(ts)-n)
				}
				if last := ts[n]; last.From != from || last.To != to || last.Actor != actor {
					t.Errorf("recorded %+v, want %s -> %s by %q", last, from, to, actor)
				}
			})
		}
	}
}

func testTransitionExpectsFrom(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	// Allowed moves, from a state the conversation is not in: someone else
	// moved it first, or never did.
	for _, tt := range []struct {
		from, to conversation.State
		actor    string
	}{
		{conversation.Queued, conversation.Agent, "agent:bob"},
		{conversation.Agent, conversation.Resolved, "agent:bob"},
		{conversation.Resolved, conversation.Bot, "system"},
	} {
		_, err := s.Transition(t.Context(), c.ID, tt.from, tt.to, tt.actor, "stale")
		testcheck.WantErr(t, fmt.Sprintf("Transition %s -> %s of a bot conversation", tt.from, tt.to), err, relais.ErrConflict)
	}
	if d := testcheck.Diff(c, get(t, s, c.ID)); d != "" {
		t.Errorf("refused transitions changed the conversation (-want +got):\n%s", d)
	}
	if ts := transitions(t, s, c.ID); len(ts) != 0 {
		t.Errorf("refused transitions were recorded: %+v", ts)
	}
}

func testTransitionNotFound(t *testing.T, s conversation.Store) {
	_, err := s.Transition(t.Context(), unknownID, conversation.Bot, conversation.Queued, "bot", "x")
	testcheck.WantErr(t, "Transition of an unknown conversation", err, relais.ErrNotFound)
}

func testTransitionAgentID(t *testing.T, s conversation.Store) {
	id := start(t, s, "alice").ID
	steps := []struct {
		from, to  conversation.State
		actor     string
		wantAgent string
	}{
		{conversation.Bot, conversation.Queued, "bot", ""},
		{conversation.Queued, conversation.Agent, "agent:alice", "alice"},
		{conversation.Agent, conversation.Queued, "system", ""}, // claim expired
		{conversation.Queued, conversation.Agent, "agent:bob", "bob"},
		{conversation.Agent, conversation.Bot, "agent:bob", ""}, // released
		{conversation.Bot, conversation.Queued, "bot", ""},
		{conversation.Queued, conversation.Agent, "agent:carol:eu", "carol:eu"},
		{conversation.Agent, conversation.Resolved, "agent:carol:eu", ""},
	}
	for _, st := range steps {
		c := transition(t, s, id, st.from, st.to, st.actor)
		if c.AgentID != st.wantAgent {
			t.Errorf("after %s -> %s by %q: AgentID %q, want %q", st.from, st.to, st.actor, c.AgentID, st.wantAgent)
		}
		if got := get(t, s, id).AgentID; got != st.wantAgent {
			t.Errorf("after %s -> %s: stored AgentID %q, want %q", st.from, st.to, got, st.wantAgent)
		}
	}
}

func testTransitionActor(t *testing.T, s conversation.Store) {
	c := moveTo(t, s, start(t, s, "alice").ID, conversation.Queued)
	n := len(transitions(t, s, c.ID))
	for _, tt := range []struct {
		to    conversation.State
		actor string
	}{
		{conversation.Agent, "system"},
		{conversation.Agent, "agent:"},
		{conversation.Agent, "alice"},
		{conversation.Agent, ""},
		{conversation.Bot, ""},
	} {
		_, err := s.Transition(t.Context(), c.ID, conversation.Queued, tt.to, tt.actor, "x")
		testcheck.WantErr(t, fmt.Sprintf("Transition queued -> %s by %q", tt.to, tt.actor), err, relais.ErrInvalid)
	}
	if d := testcheck.Diff(c, get(t, s, c.ID)); d != "" {
		t.Errorf("refused transitions changed the conversation (-want +got):\n%s", d)
	}
	if m := len(transitions(t, s, c.ID)); m != n {
		t.Errorf("refused transitions recorded %d transitions", m-n)
	}
}

func testTransitionHistory(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	want := []conversation.Transition{
		{ConversationID: c.ID, From: conversation.Bot, To: conversation.Queued, Actor: "bot", Reason: "low_confidence"},
		{ConversationID: c.ID, From: conversation.Queued, To: conversation.Agent, Actor: "agent:alice", Reason: "claimed"},
		{ConversationID: c.ID, From: conversation.Agent, To: conversation.Bot, Actor: "agent:alice", Reason: "« rendu » au bot"},
		{ConversationID: c.ID, From: conversation.Bot, To: conversation.Queued, Actor: "bot", Reason: ""},
	}
	before := time.Now()
	for _, tr := range want {
		got, err := s.Transition(t.Context(), c.ID, tr.From, tr.To, tr.Actor, tr.Reason)
		if err != nil {
			t.Fatalf("Transition %s -> %s: %v", tr.From, tr.To, err)
		}
		testcheck.Within(t, "UpdatedAt", got.UpdatedAt, before, time.Now())
	}
	after := time.Now()

	got := transitions(t, s, c.ID)
	if len(got) != len(want) {
		t.Fatalf("Transitions = %+v, want %d of them", got, len(want))
	}
	for i, tr := range got {
		testcheck.Within(t, fmt.Sprintf("transition %d At", i), tr.At, before, after)
		if i > 0 && tr.At.Before(got[i-1].At) {
			t.Errorf("transition %d At %v before transition %d's %v: not oldest first", i, tr.At, i-1, got[i-1].At)
		}
		want[i].At = tr.At
		if tr != want[i] {
			t.Errorf("transition %d = %+v, want %+v", i, tr, want[i])
		}
	}
}

func testTransitionConcurrentClaims(t *testing.T, s conversation.Store) {
	const (
		rounds = 5
		agents = 6
	)
	for round := range rounds {
		c := moveTo(t, s, start(t, s, fmt.Sprintf("customer-%d", round)).ID, conversation.Queued)
		results := make([]conversation.Conversation, agents)
		errs := make([]error, agents)
		runConcurrently(agents, func(i int) {
			results[i], errs[i] = s.Transition(t.Context(), c.ID, conversation.Queued, conversation.Agent,
				fmt.Sprintf("agent:a%d", i), "claim")
		})
		var winners []int
		for i, err := range errs {
			switch {
			case err == nil:
				winners = append(winners, i)
			case !errors.Is(err, relais.ErrConflict):
				t.Errorf("round %d, agent %d: %v, want success or relais.ErrConflict", round, i, err)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: agents %v all claimed the conversation, want exactly one", round, winners)
		}
		winner := fmt.Sprintf("a%d", winners[0])
		if got := get(t, s, c.ID); got.State != conversation.Agent || got.AgentID != winner {
			t.Errorf("round %d: conversation is %s owned by %q, want agent %q", round, got.State, got.AgentID, winner)
		}
		ts := transitions(t, s, c.ID)
		claims := slices.DeleteFunc(ts, func(tr conversation.Transition) bool { return tr.To != conversation.Agent })
		if len(claims) != 1 || claims[0].Actor != "agent:"+winner {
			t.Errorf("round %d: claims recorded %+v, want one by agent:%s", round, claims, winner)
		}
	}
}

func testTransitionResetsMemory(t *testing.T, s conversation.Store) {
	for _, path := range [][]conversation.State{
		{conversation.Queued, conversation.Bot},                     // withdrawn from the queue
		{conversation.Queued, conversation.Agent, conversation.Bot}, // released by the agent
	} {
		c := start(t, s, fmt.Sprintf("customer-%d", len(path)))
		if err := s.SetBotMemory(t.Context(), c.ID, true, 2, "fr"); err != nil {
			t.Fatal(err)
		}
		from := conversation.Bot
		var got conversation.Conversation
		for _, to := range path {
			actor := "system"
			if to == conversation.Agent {
				actor = alice
			}
			got = transition(t, s, c.ID, from, to, actor)
			from = to
		}
		if got.AwaitingFeedback || got.Failures != 0 || got.Language != "fr" {
			t.Errorf("back with the bot via %v: AwaitingFeedback %v, Failures %d, Language %q; want false, 0, \"fr\"",
				path, got.AwaitingFeedback, got.Failures, got.Language)
		}
		if d := testcheck.Diff(got, get(t, s, c.ID)); d != "" {
			t.Errorf("Conversation differs from what Transition returned (-want +got):\n%s", d)
		}
	}
}
