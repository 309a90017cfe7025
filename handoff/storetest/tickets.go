// Listing tickets: Tickets with its filters, orders, paging and search.

package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/internal/testcheck"
)

func testTicketsFilter(t *testing.T, s Stores) {
	ctx := t.Context()
	a := handOff(t, s, "c1", "general", handoff.Normal)
	b := handOff(t, s, "c2", "billing", handoff.Normal)
	c := handOff(t, s, "c3", "billing", handoff.Normal)
	claim(t, s, b.ID, "ann")
	claim(t, s, c.ID, "bea")
	if _, err := s.Handoffs.Resolve(ctx, c.ID, "bea"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    handoff.Filter
		want []int64
	}{
		{handoff.Filter{}, []int64{a.ID, b.ID, c.ID}},
		{handoff.Filter{State: handoff.Queued}, []int64{a.ID}},
		{handoff.Filter{State: handoff.Claimed}, []int64{b.ID}},
		{handoff.Filter{State: handoff.Resolved}, []int64{c.ID}},
		{handoff.Filter{State: handoff.Released}, nil},
		{handoff.Filter{Queue: "billing"}, []int64{b.ID, c.ID}},
		{handoff.Filter{AgentID: "bea"}, []int64{c.ID}},
		// An agent's console asks for the tickets it holds now.
		{handoff.Filter{State: handoff.Claimed, AgentID: "ann"}, []int64{b.ID}},
		{handoff.Filter{State: handoff.Claimed, AgentID: "bea"}, nil},
		{handoff.Filter{Reason: "low_confidence"}, []int64{a.ID, b.ID, c.ID}},
		{handoff.Filter{Reason: "customer_request"}, nil},
		{handoff.Filter{ConversationID: a.ConversationID}, []int64{a.ID}},
		{handoff.Filter{Limit: 2}, []int64{a.ID, b.ID}},
		{handoff.Filter{AfterID: a.ID, Limit: 1}, []int64{b.ID}},
		{handoff.Filter{AfterID: c.ID}, nil},
		{handoff.Filter{Queue: "billing", AfterID: a.ID}, []int64{b.ID, c.ID}},
	} {
		if got := ticketIDs(t, s, tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("Tickets(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
	for _, f := range []handoff.Filter{
		{Limit: -1}, {Limit: handoff.MaxLimit + 1}, {State: "lost"}, {AfterID: -1}, {Order: "age"},
		{Order: handoff.ByPriority, AfterID: a.ID},
	} {
		_, err := s.Handoffs.Tickets(ctx, f)
		testcheck.WantErr(t, fmt.Sprintf("Tickets(%+v)", f), err, relais.ErrInvalid)
	}
}

// testTicketsByPriority: the queue as an agent should work it, the most
// urgent first and, within a priority, the one due first; and the reason
// filter that lets an agent pick the customers who asked for a person.
func testTicketsByPriority(t *testing.T, s Stores) {
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	file := func(customer string, p handoff.Priority, reason string, due time.Duration) handoff.Ticket {
		t.Helper()
		tk := ticketFor(newConversation(t, s, customer).ID, "general", p)
		tk.Reason, tk.DueAt = reason, now.Add(due)
		got, err := s.Handoffs.Enqueue(ctx, tk)
		if err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		return got
	}
	normalLate := file("p1", handoff.Normal, "low_confidence", 2*time.Hour)
	urgent := file("p2", handoff.Urgent, "sensitive_topic", time.Hour)
	normalSoon := file("p3", handoff.Normal, "customer_request", -time.Minute) // overdue
	high := file("p4", handoff.High, "customer_request", 3*time.Hour)
	normalSoonToo := file("p5", handoff.Normal, "low_confidence", -time.Minute)

	for _, tt := range []struct {
		f    handoff.Filter
		want []int64
	}{
		{handoff.Filter{Order: handoff.ByPriority},
			[]int64{urgent.ID, high.ID, normalSoon.ID, normalSoonToo.ID, normalLate.ID}},
		{handoff.Filter{Order: handoff.ByPriority, Reason: "customer_request"}, []int64{high.ID, normalSoon.ID}},
		{handoff.Filter{Order: handoff.ByPriority, Limit: 2}, []int64{urgent.ID, high.ID}},
		{handoff.Filter{Order: handoff.ByID, Reason: "low_confidence"}, []int64{normalLate.ID, normalSoonToo.ID}},
	} {
		ts, err := s.Handoffs.Tickets(ctx, tt.f)
		if err != nil {
			t.Fatalf("Tickets(%+v): %v", tt.f, err)
		}
		var got []int64
		for _, tk := range ts {
			got = append(got, tk.ID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Tickets(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
}

// testTicketsQuery: a search over resolved tickets by summary, note,
// customer id or ticket id, newest first.
func testTicketsQuery(t *testing.T, s Stores) {
	ctx := t.Context()
	file := func(customer, summary string) handoff.Ticket {
		t.Helper()
		c := newConversation(t, s, customer)
		tk := ticketFor(c.ID, "general", handoff.Normal)
		tk.Summary = summary
		tk, err := s.Handoffs.Enqueue(ctx, tk)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	a := file("+33600000001", "Customer asks for a REFUND of order 12")
	b := file("+33600000002", "Parcel lost")
	c := file("+44700000003", "Address change")
	for _, tk := range []handoff.Ticket{a, b} {
		claim(t, s, tk.ID, "ann")
	}
	if _, err := s.Handoffs.ResolveWith(ctx, a.ID, "ann", handoff.Resolution{Note: "Refund approved"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Handoffs.ResolveWith(ctx, b.ID, "ann", handoff.Resolution{Note: "Sent a new parcel; refund not needed"}); err != nil {
		t.Fatal(err)
	}
	resolved := func(q string) handoff.Filter {
		return handoff.Filter{State: handoff.Resolved, Query: q, Order: handoff.ByNewest}
	}
	for _, tt := range []struct {
		f    handoff.Filter
		want []int64
	}{
		{resolved(""), []int64{b.ID, a.ID}},
		{resolved("refund"), []int64{b.ID, a.ID}}, // a's summary (another case), b's note
		{resolved("Order 12"), []int64{a.ID}},
		{resolved("parcel"), []int64{b.ID}},
		{resolved("+336000000"), []int64{b.ID, a.ID}}, // the customer id
		{resolved("  +33600000002 "), []int64{b.ID}},
		{resolved(strconv.FormatInt(a.ID, 10)), []int64{a.ID}},
		{resolved("address"), nil}, // c is not resolved
		{handoff.Filter{Query: "address"}, []int64{c.ID}},
		{resolved("nothing like it"), nil},
		{handoff.Filter{Order: handoff.ByNewest, Limit: 2}, []int64{c.ID, b.ID}},
	} {
		if got := ticketIDs(t, s, tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("Tickets(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
	for _, f := range []handoff.Filter{{Query: strings.Repeat("x", handoff.MaxQueryBytes+1)}, {Order: handoff.ByNewest, AfterID: a.ID}} {
		if _, err := s.Handoffs.Tickets(ctx, f); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("Tickets(%.60v) = %v, want relais.ErrInvalid", f, err)
		}
	}
}

// ticketIDs lists the ids of the tickets s.Handoffs.Tickets returns for f,
// in its order.
func ticketIDs(t *testing.T, s Stores, f handoff.Filter) []int64 {
	t.Helper()
	ts, err := s.Handoffs.Tickets(t.Context(), f)
	if err != nil {
		t.Fatalf("Tickets(%+v): %v", f, err)
	}
	var out []int64
	for _, tk := range ts {
		out = append(out, tk.ID)
	}
	return out
}
