package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/knowledge"
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
	// Note is for colleagues; ArticleID names the article that answered,
	// which labels the customer's question with it (an example).
	Note      string `json:"note"`
	ArticleID string `json:"article_id"`
}

// AgentExampleSource is the Source of the examples an agent adds by
// resolving a ticket with an article.
const AgentExampleSource = "agent"

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
	// ExampleAdded says that resolving with an article labelled the
	// customer's question with it; ExampleError why it did not although
	// the ticket was resolved.
	ExampleAdded bool   `json:"example_added,omitempty"`
	ExampleError string `json:"example_error,omitempty"`
}

// resolveHandoff closes a ticket the caller holds and, with a body
// {"draft": {"title", "body"}}, saves the agent's answer as a draft article
// for an editor to approve. The draft is checked before the ticket is
// resolved, so a bad draft changes nothing; it is saved after, so a ticket
// that is not the caller's files no draft. {"note"} keeps a note for
// colleagues on the ticket; {"article_id"} records the article that
// answered and adds the customer's question as an example of it
// (DESIGN.md section 7), so that the assistant answers it next time.
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
	res, err := handoff.ValidateResolution(handoff.Resolution{Note: in.Note, ArticleID: in.ArticleID})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if res.ArticleID != "" {
		found, err := s.cfg.Knowledge.ArticlesByExternalID(r.Context(), []string{res.ArticleID})
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if len(found) == 0 {
			writeError(w, r, s.log, errorf(http.StatusBadRequest, "unknown_article", "no article %q in the knowledge base", res.ArticleID))
			return
		}
	}
	t, err := s.cfg.Handoffs.ResolveWith(r.Context(), id, agent, res)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := resolvedJSON{ticketJSON: toTicketJSON(t)}
	if res.ArticleID != "" {
		out.ExampleAdded, out.ExampleError = s.addResolvedExample(r.Context(), t)
	}
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

// addResolvedExample labels the question that handed t off with the
// article it was resolved with. It says whether an example was added, or
// why not when the agent should know.
func (s *Server) addResolvedExample(ctx context.Context, t handoff.Ticket) (bool, string) {
	if s.cfg.Examples == nil || s.cfg.Importer == nil {
		return false, ""
	}
	question := s.ticketQuestion(ctx, t)
	if question == "" {
		return false, "the ticket is resolved, but its customer's question was not found: no example was added"
	}
	// What retrieval reads of the question: a longer one is cut the same
	// way when it is asked again.
	ex := []knowledge.Example{{Text: knowledge.QueryText(question), ArticleID: t.Resolution.ArticleID}}
	if _, err := s.cfg.Importer.AddExamples(ctx, s.cfg.Examples, AgentExampleSource, ex); err != nil {
		s.log.ErrorContext(ctx, "add the example of a resolved ticket", "ticket", t.ID, "error", err)
		return false, "the ticket is resolved, but the example was not saved"
	}
	return true, ""
}

// ticketQuestion is the customer message whose handoff filed t, else the
// customer's latest message.
func (s *Server) ticketQuestion(ctx context.Context, t handoff.Ticket) string {
	if s.cfg.History != nil && s.cfg.Channels != nil {
		if conv, err := s.cfg.Channels.Conversation(ctx, t.ConversationID); err == nil {
			past, err := s.cfg.History.CustomerHistory(ctx, conv.Channel, conv.CustomerID, handoff.MaxHistory)
			if err != nil {
				s.log.WarnContext(ctx, "read the question of a ticket", "ticket", t.ID, "error", err)
			}
			for _, p := range past {
				if p.TicketID == t.ID && p.Question != "" {
					return p.Question
				}
			}
		}
	}
	return s.lastQuestion(ctx, t.ConversationID)
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
