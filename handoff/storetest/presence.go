package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/handoff"
)

// RunPresence runs the handoff.PresenceStore contract against the stores
// open returns, each subtest on its own empty store.
func RunPresence(t *testing.T, open func(t *testing.T) handoff.PresenceStore) {
	t.Run("RoundTrip", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ctx := context.Background()
		before := time.Now().Add(-time.Second)
		ana, err := s.SetPresence(ctx, "ana", handoff.Online)
		if err != nil || ana.AgentID != "ana" || ana.Status != handoff.Online || ana.SeenAt.Before(before) {
			t.Fatalf("SetPresence(ana) = %+v, %v", ana, err)
		}
		if _, err := s.SetPresence(ctx, "bob", handoff.Online); err != nil {
			t.Fatal(err)
		}
		// A second report replaces the first: one row an agent.
		bob, err := s.SetPresence(ctx, "bob", handoff.Away)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Presences(ctx, before)
		if err != nil || len(got) != 2 || got[0] != ana || got[1] != bob {
			t.Errorf("Presences = %+v, %v; want [%+v %+v]", got, err, ana, bob)
		}
		if n := handoff.OnlineCount(got); n != 1 {
			t.Errorf("online: %d, want 1", n)
		}
		// Seen before since: not listed.
		if got, err := s.Presences(ctx, time.Now().Add(time.Hour)); err != nil || len(got) != 0 {
			t.Errorf("Presences(an hour ahead) = %+v, %v; want none", got, err)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		for _, c := range []struct {
			agent  string
			status handoff.PresenceStatus
		}{{"", handoff.Online}, {"ana", "busy"}, {"ana", ""}} {
			if _, err := s.SetPresence(context.Background(), c.agent, c.status); !errors.Is(err, relais.ErrInvalid) {
				t.Errorf("SetPresence(%q, %q) = %v, want relais.ErrInvalid", c.agent, c.status, err)
			}
		}
	})
}
