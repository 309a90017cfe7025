// Queue figures: QueueStats and QueueLoad.

package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/internal/testcheck"
)

func testQueueStats(t *testing.T, s Stores) {
	ctx := t.Context()
	stats, err := s.Handoffs.QueueStats(ctx, time.Now())
	if err != nil || len(stats) != 0 {
		t.Fatalf("QueueStats of an empty store = %v, %v", stats, err)
	}
	handOff(t, s, "c1", "general", handoff.Normal)
	b := handOff(t, s, "c2", "general", handoff.Normal)
	handOff(t, s, "c3", "billing", handoff.Normal)
	d := handOff(t, s, "c4", "billing", handoff.Normal)
	claim(t, s, b.ID, "ann")
	claim(t, s, d.ID, "ann")
	if _, err := s.Handoffs.Resolve(ctx, d.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	// Due in an hour: overdue in two.
	now := time.Now()
	for _, tt := range []struct {
		at   time.Time
		want []handoff.QueueStat
	}{
		{now, []handoff.QueueStat{{Queue: "billing", Waiting: 1}, {Queue: "general", Waiting: 1, Claimed: 1}}},
		{now.Add(2 * time.Hour), []handoff.QueueStat{{Queue: "billing", Waiting: 1, Overdue: 1},
			{Queue: "general", Waiting: 1, Claimed: 1, Overdue: 2}}},
	} {
		got, err := s.Handoffs.QueueStats(ctx, tt.at)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("QueueStats(%v) = %+v, want %+v", tt.at, got, tt.want)
		}
	}
}

func testQueueLoad(t *testing.T, s Stores) {
	ctx := t.Context()
	for _, n := range []int{0, -1, handoff.MaxLimit + 1} {
		_, err := s.Handoffs.QueueLoad(ctx, "general", n)
		testcheck.WantErr(t, fmt.Sprintf("QueueLoad(n=%d)", n), err, relais.ErrInvalid)
	}
	load, err := s.Handoffs.QueueLoad(ctx, "general", 5)
	if err != nil || load.Waiting != 0 || len(load.ClaimTimes) != 0 {
		t.Fatalf("QueueLoad of an empty store = %+v, %v", load, err)
	}
	start := time.Now()
	a := handOff(t, s, "c1", "general", handoff.Normal)
	b := handOff(t, s, "c2", "general", handoff.Normal)
	c := handOff(t, s, "c3", "general", handoff.Normal)
	handOff(t, s, "c4", "general", handoff.Normal)
	other := handOff(t, s, "c5", "billing", handoff.Normal)
	claim(t, s, other.ID, "ann")
	claim(t, s, a.ID, "ann")
	claim(t, s, c.ID, "ann")
	if _, err := s.Handoffs.Resolve(ctx, c.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	claim(t, s, b.ID, "ann")
	if _, err := s.Handoffs.Release(ctx, b.ID, "ann"); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	// a, b and c were claimed (c resolved, b released since): newest
	// ticket first. The waiting one and billing's are not in them.
	load, err = s.Handoffs.QueueLoad(ctx, "general", 5)
	if err != nil {
		t.Fatal(err)
	}
	if load.Waiting != 1 || len(load.ClaimTimes) != 3 {
		t.Fatalf("QueueLoad = %+v, want 1 waiting and 3 claim times", load)
	}
	for i, d := range load.ClaimTimes {
		if d < 0 || d > elapsed+testcheck.TimeSlack {
			t.Errorf("claim time %d = %v, want between 0 and %v", i, d, elapsed)
		}
	}
	// The order (newest ticket first) and exact durations are CheckClock's,
	// which sets the store's clock.
	load, err = s.Handoffs.QueueLoad(ctx, "general", 2)
	if err != nil || len(load.ClaimTimes) != 2 {
		t.Errorf("QueueLoad(n=2) = %+v, %v; want 2 claim times", load, err)
	}
	load, err = s.Handoffs.QueueLoad(ctx, "billing", 5)
	if err != nil || load.Waiting != 0 || len(load.ClaimTimes) != 1 {
		t.Errorf("QueueLoad(billing) = %+v, %v; want its one claim", load, err)
	}
}
