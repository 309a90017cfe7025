package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/handoff"
)

// RunDrafts runs the handoff.DraftStore contract against the stores open
// returns, each subtest on its own empty store. Beyond the doc comments it
// pins down: an unknown ticket is relais.ErrConflict; a decided draft keeps
// its approver and article; Drafts("") lists every status.
func RunDrafts(t *testing.T, open func(t *testing.T) handoff.DraftStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s handoff.DraftStore)
	}{
		{"RoundTrip", testDraftRoundTrip},
		{"Invalid", testDraftInvalid},
		{"Decide", testDraftDecide},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

func testDraftRoundTrip(t *testing.T, s handoff.DraftStore) {
	ctx := context.Background()
	in := handoff.Draft{Title: "Lost parcel", Body: "Open a claim within 30 days.", Question: "where is my parcel",
		Language: "en", Author: "ana", Status: handoff.DraftApproved /* ignored */, Approver: "x" /* ignored */}
	got, err := s.SaveDraft(ctx, in)
	if err != nil {
		t.Fatalf("SaveDraft: %v", err)
	}
	if got.ID == 0 || got.Status != handoff.DraftPending || got.Approver != "" || got.CreatedAt.IsZero() ||
		got.Title != in.Title || got.Body != in.Body || got.Question != in.Question || got.Language != "en" || got.Author != "ana" {
		t.Errorf("SaveDraft = %+v", got)
	}
	read, err := s.Draft(ctx, got.ID)
	if err != nil || read.ID != got.ID || read.Body != in.Body || !read.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("Draft = %+v, %v; want %+v", read, err, got)
	}
	if _, err := s.Draft(ctx, got.ID+100); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("Draft(unknown) error = %v, want relais.ErrNotFound", err)
	}
	list, err := s.Drafts(ctx, handoff.DraftPending)
	if err != nil || len(list) != 1 || list[0].ID != got.ID {
		t.Errorf("Drafts(draft) = %+v, %v", list, err)
	}
}

func testDraftInvalid(t *testing.T, s handoff.DraftStore) {
	ctx := context.Background()
	for _, d := range []handoff.Draft{
		{Body: "b", Author: "ana"},
		{Title: "t", Author: "ana"},
		{Title: "t", Body: "b"},
	} {
		if _, err := s.SaveDraft(ctx, d); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("SaveDraft(%+v) error = %v, want relais.ErrInvalid", d, err)
		}
	}
	if _, err := s.SaveDraft(ctx, handoff.Draft{Title: "t", Body: "b", Author: "ana", TicketID: 999}); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("SaveDraft(unknown ticket) error = %v, want relais.ErrConflict", err)
	}
	if _, err := s.Drafts(ctx, "maybe"); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("Drafts(maybe) error = %v, want relais.ErrInvalid", err)
	}
}

func testDraftDecide(t *testing.T, s handoff.DraftStore) {
	ctx := context.Background()
	a, err := s.SaveDraft(ctx, handoff.Draft{Title: "A", Body: "a", Author: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SaveDraft(ctx, handoff.Draft{Title: "B", Body: "b", Author: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DecideDraft(ctx, a.ID, handoff.DraftPending, "ed", ""); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("DecideDraft(draft) error = %v, want relais.ErrInvalid", err)
	}
	if _, err := s.DecideDraft(ctx, a.ID, handoff.DraftApproved, "", ""); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("DecideDraft(no approver) error = %v, want relais.ErrInvalid", err)
	}
	got, err := s.DecideDraft(ctx, a.ID, handoff.DraftApproved, "ed", "draft:1")
	if err != nil || got.Status != handoff.DraftApproved || got.Approver != "ed" || got.ArticleID != "draft:1" {
		t.Errorf("DecideDraft(approve) = %+v, %v", got, err)
	}
	if _, err := s.DecideDraft(ctx, a.ID, handoff.DraftRejected, "ed", ""); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("DecideDraft(approved again) error = %v, want relais.ErrConflict", err)
	}
	if _, err := s.DecideDraft(ctx, b.ID+100, handoff.DraftRejected, "ed", ""); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("DecideDraft(unknown) error = %v, want relais.ErrNotFound", err)
	}
	if got, err := s.DecideDraft(ctx, b.ID, handoff.DraftRejected, "ed", ""); err != nil || got.Status != handoff.DraftRejected {
		t.Errorf("DecideDraft(reject) = %+v, %v", got, err)
	}
	all, err := s.Drafts(ctx, "")
	if err != nil || len(all) != 2 || all[0].ID != a.ID {
		t.Errorf("Drafts(\"\") = %+v, %v", all, err)
	}
	if pending, err := s.Drafts(ctx, handoff.DraftPending); err != nil || len(pending) != 0 {
		t.Errorf("Drafts(draft) = %+v, %v; want none", pending, err)
	}
}
