package handoff

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/knowledge"
)

// DraftStatus is where a draft article is in its review.
type DraftStatus string

// Draft statuses. Approved and rejected are final.
const (
	DraftPending  DraftStatus = "draft"
	DraftApproved DraftStatus = "approved"
	DraftRejected DraftStatus = "rejected"
)

// Valid reports whether s is one of the draft statuses.
func (s DraftStatus) Valid() bool {
	switch s {
	case DraftPending, DraftApproved, DraftRejected:
		return true
	}
	return false
}

// Draft is an answer an agent wrote that the knowledge base lacked, saved
// when resolving a ticket, waiting for an editor to make it an article.
type Draft struct {
	ID    int64
	Title string
	Body  string
	// TicketID is the ticket it was written for; 0 when none.
	TicketID int64
	// Question is the customer's last question on that ticket: approved, it
	// becomes a labelled example of the article. Customer text: never log it.
	Question string
	Language string
	Status   DraftStatus
	Author   string // the agent who wrote it
	Approver string // the editor who approved or rejected it; "" while a draft
	// ArticleID is the external id of the article an approval made.
	ArticleID string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ExportDraft is d as a customer's data export shows it, under the ticket
// it was written for (conversation.PersonalData).
func ExportDraft(d Draft) conversation.DraftData {
	return conversation.DraftData{TicketID: d.TicketID, ID: d.ID, Title: d.Title, Body: d.Body, Question: d.Question,
		Language: d.Language, Status: string(d.Status), Author: d.Author, Approver: d.Approver, ArticleID: d.ArticleID,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

// DraftArticleID is the external id of the article draft id becomes. An
// approval also files the draft's question as an example with this source,
// which is how an erasure finds that example again.
func DraftArticleID(id int64) string { return "draft:" + strconv.FormatInt(id, 10) }

// DraftStore keeps drafts.
type DraftStore interface {
	// SaveDraft stores a new draft (status DraftPending) and returns it
	// with its ID and times. relais.ErrInvalid when it breaks ValidateDraft.
	SaveDraft(ctx context.Context, d Draft) (Draft, error)
	// Draft returns one draft; relais.ErrNotFound if none.
	Draft(ctx context.Context, id int64) (Draft, error)
	// Drafts lists the drafts in status (every status when ""), oldest
	// first. relais.ErrInvalid for a status that is not "" and not Valid.
	Drafts(ctx context.Context, status DraftStatus) ([]Draft, error)
	// DecideDraft moves a pending draft to approved or rejected, by
	// approver, with the article it became (approved only).
	// relais.ErrConflict when it is not pending any more;
	// relais.ErrNotFound when it does not exist; relais.ErrInvalid for
	// another status or an empty approver.
	DecideDraft(ctx context.Context, id int64, status DraftStatus, approver, articleID string) (Draft, error)
}

// ValidateDraft checks a new draft; the error wraps relais.ErrInvalid.
func ValidateDraft(d Draft) error {
	switch {
	case strings.TrimSpace(d.Title) == "":
		return fmt.Errorf("draft without a title: %w", relais.ErrInvalid)
	case strings.TrimSpace(d.Body) == "":
		return fmt.Errorf("draft without a body: %w", relais.ErrInvalid)
	case d.Author == "":
		return fmt.Errorf("draft without an author: %w", relais.ErrInvalid)
	case d.TicketID < 0:
		return fmt.Errorf("draft ticket %d: %w", d.TicketID, relais.ErrInvalid)
	}
	return nil
}

// ValidateDecision checks a DecideDraft call; the error wraps
// relais.ErrInvalid.
func ValidateDecision(status DraftStatus, approver string) error {
	if status != DraftApproved && status != DraftRejected {
		return fmt.Errorf("draft decision %q: want approved or rejected: %w", status, relais.ErrInvalid)
	}
	if approver == "" {
		return fmt.Errorf("draft decision without an approver: %w", relais.ErrInvalid)
	}
	return nil
}

// ArticleSaver saves an article so it is searched like any other
// (ingest.Importer: chunked and embedded).
type ArticleSaver interface {
	SaveArticle(ctx context.Context, a knowledge.Article) (knowledge.Article, error)
}

// ExampleSaver is the part of knowledge.ExampleStore an approval writes.
type ExampleSaver interface {
	SaveExamples(ctx context.Context, examples []knowledge.Example) (int, error)
}

// Review turns drafts into articles, or rejects them.
type Review struct {
	Drafts   DraftStore
	Articles ArticleSaver
	Examples ExampleSaver       // with Embedder: the question becomes an example
	Embedder knowledge.Embedder // embeds the question; no example when nil
}

// Approve makes draft id the article DraftArticleID(id), adds the
// customer's question as an example labelled with it, and marks the draft
// approved by approver. The article and example are saved first and both
// are idempotent (by external id; by source, label and text), so an
// approval that fails half-way can simply be retried. relais.ErrConflict
// when the draft is not pending.
func (r *Review) Approve(ctx context.Context, id int64, approver string) (Draft, error) {
	return r.ApproveEdited(ctx, id, approver, DraftEdit{})
}

// DraftEdit is an editor's change to a draft's text, made as they approve
// it: an empty field keeps the agent's.
type DraftEdit struct {
	Title string
	Body  string
}

// ApproveEdited is Approve with the article's title and body edited first.
// The draft keeps what its agent wrote; the article holds the approved
// text. A title or body made only of spaces is relais.ErrInvalid.
func (r *Review) ApproveEdited(ctx context.Context, id int64, approver string, edit DraftEdit) (Draft, error) {
	if err := ValidateDecision(DraftApproved, approver); err != nil {
		return Draft{}, err
	}
	if (edit.Title != "" && strings.TrimSpace(edit.Title) == "") || (edit.Body != "" && strings.TrimSpace(edit.Body) == "") {
		return Draft{}, fmt.Errorf("approve draft %d: an edited title or body must not be blank: %w", id, relais.ErrInvalid)
	}
	d, err := r.Drafts.Draft(ctx, id)
	if err != nil {
		return Draft{}, fmt.Errorf("approve draft %d: %w", id, err)
	}
	if d.Status != DraftPending {
		return Draft{}, fmt.Errorf("approve draft %d: it is %s: %w", id, d.Status, relais.ErrConflict)
	}
	articleID := DraftArticleID(id)
	a := knowledge.Article{ExternalID: articleID, Title: d.Title, Body: d.Body, Language: d.Language, Source: articleID}
	if edit.Title != "" {
		a.Title = edit.Title
	}
	if edit.Body != "" {
		a.Body = edit.Body
	}
	// The question is not made a phrasing: articles are shown to customers,
	// and a customer's words may hold personal details. As an example it
	// only steers retrieval.
	if _, err := r.Articles.SaveArticle(ctx, a); err != nil {
		return Draft{}, fmt.Errorf("approve draft %d: save the article: %w", id, err)
	}
	if q := strings.TrimSpace(d.Question); q != "" && r.Examples != nil && r.Embedder != nil {
		vecs, err := knowledge.Embed(ctx, r.Embedder, []string{q})
		if err != nil {
			return Draft{}, fmt.Errorf("approve draft %d: embed the question: %w", id, err)
		}
		ex := knowledge.Example{Text: q, ArticleID: articleID, Source: articleID, Language: d.Language, Embedding: vecs[0]}
		if _, err := r.Examples.SaveExamples(ctx, []knowledge.Example{ex}); err != nil {
			return Draft{}, fmt.Errorf("approve draft %d: save the example: %w", id, err)
		}
	}
	return r.Drafts.DecideDraft(ctx, id, DraftApproved, approver, articleID)
}

// Reject marks draft id rejected by approver. relais.ErrConflict when it is
// not pending.
func (r *Review) Reject(ctx context.Context, id int64, approver string) (Draft, error) {
	return r.Drafts.DecideDraft(ctx, id, DraftRejected, approver, "")
}
