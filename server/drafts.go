package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/language"
)

// maxDraftBytes bounds a resolve body with a draft: an article, not a file.
const maxDraftBytes = 256 << 10

type draftInput struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

type resolveInput struct {
	Draft *draftInput `json:"draft"`
}

type draftJSON struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	TicketID  int64     `json:"ticket_id,omitempty"`
	Question  string    `json:"question,omitempty"`
	Language  string    `json:"language,omitempty"`
	Status    string    `json:"status"`
	Author    string    `json:"author"`
	Approver  string    `json:"approver,omitempty"`
	ArticleID string    `json:"article_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toDraftJSON(d handoff.Draft) draftJSON {
	return draftJSON{ID: d.ID, Title: d.Title, Body: d.Body, TicketID: d.TicketID, Question: d.Question, Language: d.Language,
		Status: string(d.Status), Author: d.Author, Approver: d.Approver, ArticleID: d.ArticleID, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

// resolvedJSON is a resolved ticket with the draft its agent saved.
type resolvedJSON struct {
	ticketJSON
	Draft *draftJSON `json:"draft,omitempty"`
	// DraftError says why the draft was not saved although the ticket was
	// resolved: the agent can keep the text and submit it again.
	DraftError string `json:"draft_error,omitempty"`
}

// resolveHandoff closes a ticket the caller holds and, with a body
// {"draft": {"title", "body"}}, saves the agent's answer as a draft article
// for an editor to approve. The draft is checked before the ticket is
// resolved, so a bad draft changes nothing; it is saved after, so a ticket
// that is not the caller's files no draft.
func (s *Server) resolveHandoff(w http.ResponseWriter, r *http.Request) {
	id, err := ticketID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var in resolveInput
	if err := decodeOptionalJSON(w, r, &in, maxDraftBytes); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	agent := agentOf(r)
	if in.Draft != nil {
		if s.cfg.Drafts == nil {
			writeError(w, r, s.log, fmt.Errorf("drafts are not enabled on this server: %w", relais.ErrInvalid))
			return
		}
		err := handoff.ValidateDraft(handoff.Draft{Title: in.Draft.Title, Body: in.Draft.Body, Author: agent})
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	t, err := s.cfg.Handoffs.Resolve(r.Context(), id, agent)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := resolvedJSON{ticketJSON: toTicketJSON(t)}
	if in.Draft != nil {
		d, err := s.cfg.Drafts.Drafts.SaveDraft(r.Context(), handoff.Draft{
			Title: in.Draft.Title, Body: in.Draft.Body, TicketID: t.ID, Author: agent,
			Question: s.lastQuestion(r.Context(), t.ConversationID), Language: language.Detect(in.Draft.Body),
		})
		if err != nil {
			s.log.ErrorContext(r.Context(), "save the draft of a resolved ticket", "ticket", t.ID, "error", err)
			out.DraftError = "the ticket is resolved but the draft was not saved; submit it again"
		} else {
			dj := toDraftJSON(d)
			out.Draft = &dj
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// lastQuestion is the customer's latest message of a conversation, "" when
// it cannot be read: the draft is worth keeping without it.
func (s *Server) lastQuestion(ctx context.Context, conversationID int64) string {
	msgs, err := s.cfg.Transcripts.Messages(ctx, conversationID, TranscriptLimit)
	if err != nil {
		s.log.WarnContext(ctx, "read the question of a draft", "conversation", conversationID, "error", err)
		return ""
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == conversation.Customer {
			return msgs[i].Text
		}
	}
	return ""
}

// listDrafts lists drafts by ?status= (draft when absent; "all" for every
// status), oldest first.
func (s *Server) listDrafts(w http.ResponseWriter, r *http.Request) {
	status := handoff.DraftStatus(r.URL.Query().Get("status"))
	switch status {
	case "":
		status = handoff.DraftPending
	case "all":
		status = ""
	}
	ds, err := s.cfg.Drafts.Drafts.Drafts(r.Context(), status)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]draftJSON, len(ds))
	for i, d := range ds {
		out[i] = toDraftJSON(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"drafts": out})
}

// approveDraft makes a draft an article; a body {"title", "body"} (either
// optional) is the editor's version of the text, which the article gets
// instead of the agent's.
func (s *Server) approveDraft(w http.ResponseWriter, r *http.Request) {
	var in draftInput
	if err := decodeOptionalJSON(w, r, &in, maxDraftBytes); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.decideDraft(w, r, func(ctx context.Context, id int64, approver string) (handoff.Draft, error) {
		return s.cfg.Drafts.ApproveEdited(ctx, id, approver, handoff.DraftEdit{Title: in.Title, Body: in.Body})
	})
}

func (s *Server) rejectDraft(w http.ResponseWriter, r *http.Request) {
	s.decideDraft(w, r, s.cfg.Drafts.Reject)
}

func (s *Server) decideDraft(w http.ResponseWriter, r *http.Request, decide func(context.Context, int64, string) (handoff.Draft, error)) {
	id, err := pathID(r, "draft")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	d, err := decide(r.Context(), id, agentOf(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toDraftJSON(d))
}
