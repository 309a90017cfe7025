package handoff_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

func TestExpectedWait(t *testing.T) {
	t.Parallel()
	m := time.Minute
	tests := []struct {
		name string
		load handoff.QueueLoad
		sla  time.Duration
		want time.Duration
	}{
		{"no history: the SLA", handoff.QueueLoad{Waiting: 3}, 4 * time.Hour, 4 * time.Hour},
		{"empty queue, fast claims", handoff.QueueLoad{ClaimTimes: []time.Duration{3 * m, 5 * m, 4 * m}}, 4 * time.Hour, 4 * m},
		{"median, not mean: one slow claim", handoff.QueueLoad{ClaimTimes: []time.Duration{2 * m, 3 * m, 180 * m}}, 4 * time.Hour, 3 * m},
		{"even count: the middle two", handoff.QueueLoad{ClaimTimes: []time.Duration{2 * m, 4 * m, 6 * m, 100 * m}}, 4 * time.Hour, 5 * m},
		{"two ahead: three claims' time", handoff.QueueLoad{Waiting: 2, ClaimTimes: []time.Duration{10 * m}}, 4 * time.Hour, 30 * m},
		{"never past the SLA", handoff.QueueLoad{Waiting: 30, ClaimTimes: []time.Duration{20 * m}}, 4 * time.Hour, 4 * time.Hour},
		{"at least a minute", handoff.QueueLoad{ClaimTimes: []time.Duration{5 * time.Second}}, 4 * time.Hour, m},
		{"no history, an agent online", handoff.QueueLoad{AgentsOnline: 1}, 4 * time.Hour, handoff.UnmeasuredClaimTime},
		{"no history, three ahead, two online", handoff.QueueLoad{Waiting: 3, AgentsOnline: 2}, 4 * time.Hour, 2 * handoff.UnmeasuredClaimTime},
		{"no history, one ahead, two online", handoff.QueueLoad{Waiting: 1, AgentsOnline: 2}, 4 * time.Hour, handoff.UnmeasuredClaimTime},
		{"no history, online, within a short SLA", handoff.QueueLoad{Waiting: 9, AgentsOnline: 1}, 20 * m, 20 * m},
		{"history wins over presence", handoff.QueueLoad{ClaimTimes: []time.Duration{2 * m}, AgentsOnline: 3}, 4 * time.Hour, 2 * m},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := handoff.ExpectedWait(tt.load, tt.sla); got != tt.want {
				t.Errorf("ExpectedWait(%+v, %v) = %v, want %v", tt.load, tt.sla, got, tt.want)
			}
		})
	}
}

// TestEscalateNoticeFromQueue: the customer is told the wait the queue
// shows, never "about 4 hours" when tickets are claimed in minutes; the
// SLA when the queue has no history or cannot be read.
func TestEscalateNoticeFromQueue(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	d := assistant.Decision{Reason: assistant.ReasonCustomerRequest, Language: "en"}
	fast := handoff.QueueLoad{ClaimTimes: []time.Duration{4 * time.Minute, 6 * time.Minute, 5 * time.Minute}}
	for _, tc := range []struct {
		name    string
		load    handoff.QueueLoad
		loadErr error
		want    string
	}{
		{"empty queue, claimed fast", fast, nil, "Expected wait: about 5 minutes."},
		{"two waiting ahead", handoff.QueueLoad{Waiting: 2, ClaimTimes: fast.ClaimTimes}, nil, "Expected wait: about 15 minutes."},
		{"no history", handoff.QueueLoad{}, nil, "Expected wait: about 4 hours."},
		{"queue unreadable", fast, errors.New("store down"), "Expected wait: about 4 hours."},
		{"no history, agents online", handoff.QueueLoad{}, nil, "Expected wait: about 5 minutes."},
	} {
		store := &recordingStore{load: tc.load, loadErr: tc.loadErr}
		e := &handoff.Escalator{Store: store, Now: func() time.Time { return now }}
		if strings.Contains(tc.name, "agents online") {
			e.Presence = fakePresence{{AgentID: "ana", Status: handoff.Online}, {AgentID: "bob", Status: handoff.Away}}
		}
		_, res, err := e.Escalate(context.Background(), conversation.Conversation{ID: 7}, d, aTurn)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !strings.HasSuffix(res.Reply.Text, tc.want) {
			t.Errorf("%s: notice %q, want it to end %q", tc.name, res.Reply.Text, tc.want)
		}
		if got := store.got[0].DueAt; !got.Equal(now.Add(4 * time.Hour)) {
			t.Errorf("%s: due %v: the SLA must not change with the estimate", tc.name, got)
		}
		if len(store.loadAsked) != 1 || store.loadAsked[0] != store.got[0].Queue {
			t.Errorf("%s: asked the load of %v, want the ticket's queue %q", tc.name, store.loadAsked, store.got[0].Queue)
		}
	}
}

// fakePresence reports its agents whatever since.
type fakePresence []handoff.Presence

func (f fakePresence) SetPresence(context.Context, string, handoff.PresenceStatus) (handoff.Presence, error) {
	return handoff.Presence{}, errors.New("read-only")
}

func (f fakePresence) Presences(context.Context, time.Time) ([]handoff.Presence, error) {
	return f, nil
}
