package handoff_test

import (
	"context"
	"errors"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/knowledge"
)

// memDrafts is an in-memory handoff.DraftStore.
type memDrafts struct{ m map[int64]handoff.Draft }

func (s *memDrafts) SaveDraft(_ context.Context, d handoff.Draft) (handoff.Draft, error) {
	d.ID, d.Status = int64(len(s.m)+1), handoff.DraftPending
	s.m[d.ID] = d
	return d, nil
}

func (s *memDrafts) Draft(_ context.Context, id int64) (handoff.Draft, error) {
	d, ok := s.m[id]
	if !ok {
		return handoff.Draft{}, relais.ErrNotFound
	}
	return d, nil
}

func (s *memDrafts) Drafts(context.Context, handoff.DraftStatus) ([]handoff.Draft, error) {
	return nil, nil
}

func (s *memDrafts) DecideDraft(_ context.Context, id int64, st handoff.DraftStatus, approver, article string) (handoff.Draft, error) {
	d := s.m[id]
	if d.Status != handoff.DraftPending {
		return handoff.Draft{}, relais.ErrConflict
	}
	d.Status, d.Approver, d.ArticleID = st, approver, article
	s.m[id] = d
	return d, nil
}

type savedArticles struct {
	got []knowledge.Article
	err error
}

func (s *savedArticles) SaveArticle(_ context.Context, a knowledge.Article) (knowledge.Article, error) {
	s.got = append(s.got, a)
	return a, s.err
}

type savedExamples struct{ got []knowledge.Example }

func (s *savedExamples) SaveExamples(_ context.Context, ex []knowledge.Example) (int, error) {
	s.got = append(s.got, ex...)
	return len(ex), nil
}

type oneEmbedder struct{}

func (oneEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{1, 0}
	}
	return out, nil
}

func (oneEmbedder) Space() knowledge.EmbeddingSpace { return knowledge.EmbeddingSpace{} }

func TestReviewApprove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drafts := &memDrafts{m: map[int64]handoff.Draft{}}
	arts, exs := &savedArticles{}, &savedExamples{}
	r := &handoff.Review{Drafts: drafts, Articles: arts, Examples: exs, Embedder: oneEmbedder{}}
	d, _ := drafts.SaveDraft(ctx, handoff.Draft{Title: "Gift cards", Body: "They never expire.", Question: "do gift cards expire?", Language: "en", Author: "ana"})

	arts.err = errors.New("embedder down")
	if _, err := r.Approve(ctx, d.ID, "ed"); err == nil {
		t.Fatal("Approve with a failing importer succeeded")
	}
	if got := drafts.m[d.ID].Status; got != handoff.DraftPending {
		t.Fatalf("after a failed approval the draft is %s, want it pending for a retry", got)
	}
	arts.err = nil
	got, err := r.Approve(ctx, d.ID, "ed")
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	if got.Status != handoff.DraftApproved || got.Approver != "ed" || got.ArticleID != "draft:1" {
		t.Errorf("Approve = %+v", got)
	}
	a := arts.got[len(arts.got)-1]
	if a.ExternalID != "draft:1" || a.Title != "Gift cards" || a.Body != "They never expire." || a.Language != "en" || len(a.Phrasings) != 0 {
		t.Errorf("saved article = %+v", a)
	}
	if len(exs.got) != 1 || exs.got[0].Text != "do gift cards expire?" || exs.got[0].ArticleID != "draft:1" || len(exs.got[0].Embedding) != 2 {
		t.Errorf("saved examples = %+v", exs.got)
	}
	if _, err := r.Approve(ctx, d.ID, "ed"); !errors.Is(err, relais.ErrConflict) {
		t.Errorf("second Approve error = %v, want relais.ErrConflict", err)
	}
	if _, err := r.Approve(ctx, d.ID, ""); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("Approve without an approver error = %v, want relais.ErrInvalid", err)
	}
	if _, err := r.Approve(ctx, 99, "ed"); !errors.Is(err, relais.ErrNotFound) {
		t.Errorf("Approve(unknown) error = %v, want relais.ErrNotFound", err)
	}
}

func TestValidateDraft(t *testing.T) {
	t.Parallel()
	for _, d := range []handoff.Draft{
		{Body: "b", Author: "a"}, {Title: " ", Body: "b", Author: "a"}, {Title: "t", Author: "a"}, {Title: "t", Body: "b"},
		{Title: "t", Body: "b", Author: "a", TicketID: -1},
	} {
		if err := handoff.ValidateDraft(d); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("ValidateDraft(%+v) = %v, want relais.ErrInvalid", d, err)
		}
	}
	if err := handoff.ValidateDraft(handoff.Draft{Title: "t", Body: "b", Author: "a"}); err != nil {
		t.Errorf("ValidateDraft(valid) = %v", err)
	}
}

func TestDraftStatusValid(t *testing.T) {
	for _, s := range []handoff.DraftStatus{handoff.DraftPending, handoff.DraftApproved, handoff.DraftRejected} {
		if !s.Valid() {
			t.Errorf("DraftStatus(%q).Valid() = false", s)
		}
	}
	for _, s := range []handoff.DraftStatus{"", "maybe", "Draft"} {
		if s.Valid() {
			t.Errorf("DraftStatus(%q).Valid() = true", s)
		}
	}
}

func TestTicketNotIn(t *testing.T) {
	err := handoff.TicketNotIn(7, handoff.Claimed, "ann", handoff.Claimed)
	if !errors.Is(err, relais.ErrConflict) || err.Error() != "ticket 7 is held by another agent: "+relais.ErrConflict.Error() {
		t.Errorf("TicketNotIn of a ticket another agent holds = %v", err)
	}
	err = handoff.TicketNotIn(7, handoff.Claimed, "ann", handoff.Resolved)
	if !errors.Is(err, relais.ErrConflict) || err.Error() != "ticket 7 is resolved, not claimed: "+relais.ErrConflict.Error() {
		t.Errorf("TicketNotIn of a resolved ticket = %v", err)
	}
}

// TestReviewApproveEdited: the editor's text becomes the article, the
// agent's stays in the draft; a blank edit is refused and changes nothing.
func TestReviewApproveEdited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drafts := &memDrafts{m: map[int64]handoff.Draft{}}
	arts := &savedArticles{}
	r := &handoff.Review{Drafts: drafts, Articles: arts}
	d, _ := drafts.SaveDraft(ctx, handoff.Draft{Title: "gift cards", Body: "they never expire", Author: "ana"})
	if _, err := r.ApproveEdited(ctx, d.ID, "ed", handoff.DraftEdit{Body: "  "}); !errors.Is(err, relais.ErrInvalid) {
		t.Fatalf("ApproveEdited with a blank body: %v, want relais.ErrInvalid", err)
	}
	if len(arts.got) != 0 || drafts.m[d.ID].Status != handoff.DraftPending {
		t.Fatalf("a refused approval saved %v, draft %s", arts.got, drafts.m[d.ID].Status)
	}
	got, err := r.ApproveEdited(ctx, d.ID, "ed", handoff.DraftEdit{Title: "Do gift cards expire?"})
	if err != nil {
		t.Fatal(err)
	}
	if len(arts.got) != 1 || arts.got[0].Title != "Do gift cards expire?" || arts.got[0].Body != "they never expire" {
		t.Errorf("article saved = %+v, want the edited title and the agent's body", arts.got)
	}
	if got.Status != handoff.DraftApproved || got.Title != "gift cards" {
		t.Errorf("draft after approval = %+v, want approved with the agent's title", got)
	}
}
