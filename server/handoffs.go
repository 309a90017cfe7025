package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

// DefaultClaimTTL is how long an agent's claim lasts without an action on
// the ticket, unless configured: long enough to read a transcript and
// write a careful reply, short enough that a customer whose agent went home
// is back in the queue within the quarter hour.
const DefaultClaimTTL = 15 * time.Minute

// TranscriptLimit is how many of a conversation's latest messages a ticket
// shows: more than any support chat holds, bounded so that a runaway
// conversation cannot make the response huge.
const TranscriptLimit = 500

// Transcripts is what the handoff API needs of conversation.Store: the
// transcript to show and the agent's replies to store.
type Transcripts interface {
	Messages(ctx context.Context, conversationID int64, limit int) ([]conversation.Message, error)
	AppendMessage(ctx context.Context, m conversation.Message) (conversation.Message, error)
}

type ticketJSON struct {
	ID             int64      `json:"id"`
	ConversationID int64      `json:"conversation_id"`
	Queue          string     `json:"queue"`
	Priority       string     `json:"priority"`
	Reason         string     `json:"reason"`
	Intent         string     `json:"intent,omitempty"`
	Topic          string     `json:"topic,omitempty"`
	State          string     `json:"state"`
	Agent          string     `json:"agent,omitempty"`
	ClaimExpiresAt *time.Time `json:"claim_expires_at,omitempty"`
	DueAt          time.Time  `json:"due_at"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	// Note and ArticleID are the resolution's (handoff.Resolution).
	Note      string `json:"note,omitempty"`
	ArticleID string `json:"article_id,omitempty"`
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toTicketJSON(t handoff.Ticket) ticketJSON {
	return ticketJSON{
		ID: t.ID, ConversationID: t.ConversationID, Queue: t.Queue, Priority: t.Priority.String(),
		Reason: t.Reason, Intent: t.Intent, Topic: t.Topic, State: string(t.State), Agent: t.AgentID,
		ClaimExpiresAt: optionalTime(t.ClaimExpiresAt), DueAt: t.DueAt, CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt, ClosedAt: optionalTime(t.ClosedAt), Note: t.Resolution.Note, ArticleID: t.Resolution.ArticleID,
	}
}

type messageJSON struct {
	ID        int64         `json:"id"`
	Role      string        `json:"role"`
	Text      string        `json:"text"`
	Agent     string        `json:"agent,omitempty"`
	CreatedAt time.Time     `json:"created_at"`
	Media     *mediaJSON    `json:"media,omitempty"`
	Delivery  *deliveryJSON `json:"delivery,omitempty"`
}

func toMessageJSON(m conversation.Message) messageJSON {
	return messageJSON{ID: m.ID, Role: string(m.Role), Text: m.Text, Agent: m.AgentID, CreatedAt: m.CreatedAt}
}

type suggestionJSON struct {
	ArticleID string `json:"article_id"`
	Title     string `json:"title"`
}

// agentOf is the agent id of the caller: its token's name.
func agentOf(r *http.Request) string {
	p, _ := PrincipalFrom(r.Context())
	return p.Name
}

// pathID reads a route's {id}; what names the kind of thing it identifies,
// for the error.
func pathID(r *http.Request, what string) (int64, error) {
	raw := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s id %q: want a positive whole number: %w", what, raw, relais.ErrInvalid)
	}
	return id, nil
}

func ticketID(r *http.Request) (int64, error) { return pathID(r, "handoff") }

// pathTicket reads the ticket the path's {id} names.
func (s *Server) pathTicket(r *http.Request) (handoff.Ticket, error) {
	id, err := ticketID(r)
	if err != nil {
		return handoff.Ticket{}, err
	}
	return s.cfg.Handoffs.Ticket(r.Context(), id)
}

// MeAgent, as ?agent= of GET /v1/handoffs, names the caller: a console
// asks for the tickets its agent holds without knowing the token's name.
const MeAgent = "me"

// listHandoffs lists tickets, oldest first, a page at a time: ?after= the
// last id of the previous page (next_after in its response). With
// ?order=priority the most urgent come first, with ?order=newest the
// newest, and nothing pages. ?q= finds tickets by summary, resolution
// note, customer id or ticket id (handoff.Filter.Query).
func (s *Server) listHandoffs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), 50, 1, handoff.MaxLimit, "limit")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var after int64
	if raw := q.Get("after"); raw != "" {
		if after, err = strconv.ParseInt(raw, 10, 64); err != nil || after < 0 {
			writeError(w, r, s.log, fmt.Errorf("after must be a handoff id, got %q: %w", raw, relais.ErrInvalid))
			return
		}
	}
	agent := q.Get("agent")
	if agent == MeAgent {
		agent = agentOf(r)
	}
	order := handoff.Order(q.Get("order"))
	ts, err := s.cfg.Handoffs.Tickets(r.Context(), handoff.Filter{
		State: handoff.State(q.Get("state")), Queue: q.Get("queue"), Reason: q.Get("reason"), AgentID: agent,
		AfterID: after, Order: order, Limit: limit, Query: q.Get("q"),
	})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]ticketJSON, len(ts))
	for i, t := range ts {
		out[i] = toTicketJSON(t)
	}
	res := map[string]any{"handoffs": out, "limit": limit}
	if len(ts) == limit && (order == "" || order == handoff.ByID) {
		res["next_after"] = ts[len(ts)-1].ID
	}
	writeJSON(w, http.StatusOK, res)
}

type claimInput struct {
	Queues []string `json:"queues"`
}

// claimNextHandoff gives the caller the best waiting ticket of its queues
// (every queue when the body names none).
func (s *Server) claimNextHandoff(w http.ResponseWriter, r *http.Request) {
	var in claimInput
	if err := decodeOptionalJSON(w, r, &in, 16<<10); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	t, err := s.cfg.Handoffs.ClaimNext(r.Context(), agentOf(r), in.Queues, s.cfg.ClaimTTL)
	if errors.Is(err, relais.ErrNotFound) {
		where := "any queue"
		if len(in.Queues) > 0 {
			where = "queues " + strings.Join(in.Queues, ", ")
		}
		writeError(w, r, s.log, errorf(http.StatusNotFound, "queue_empty", "no handoff is waiting in %s", where))
		return
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toTicketJSON(t))
}

func (s *Server) claimHandoff(w http.ResponseWriter, r *http.Request) {
	id, err := ticketID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	t, err := s.cfg.Handoffs.Claim(r.Context(), id, agentOf(r), s.cfg.ClaimTTL)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toTicketJSON(t))
}

// getHandoff shows a ticket with what the agent needs to take over: the
// transcript, the summary and the suggested articles. Reading a ticket one
// holds counts as working on it and extends the claim.
func (s *Server) getHandoff(w http.ResponseWriter, r *http.Request) {
	t, err := s.pathTicket(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	ctx, id := r.Context(), t.ID
	if agent := agentOf(r); t.State == handoff.Claimed && t.AgentID == agent {
		extended, err := s.cfg.Handoffs.ExtendClaim(ctx, id, agent, s.cfg.ClaimTTL)
		switch {
		case err == nil:
			t = extended
		case errors.Is(err, relais.ErrConflict):
			// The claim expired in between: show the ticket as it was read.
		default:
			writeError(w, r, s.log, err)
			return
		}
	}
	msgs, err := s.cfg.Transcripts.Messages(ctx, t.ConversationID, TranscriptLimit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	transcript := make([]messageJSON, len(msgs))
	for i, m := range msgs {
		transcript[i] = toMessageJSON(m)
	}
	suggested, err := s.suggestions(ctx, t.Articles)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := map[string]any{
		"handoff": toTicketJSON(t), "summary": t.Summary, "transcript": transcript, "suggested_articles": suggested,
	}
	if labels, err := s.ticketLabels(ctx, t.ConversationID); err != nil {
		writeError(w, r, s.log, err)
		return
	} else if labels != nil {
		out["labels"] = labels
	}
	if s.cfg.Channels != nil {
		customer, err := s.annotate(ctx, t.ConversationID, transcript)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out["customer"] = customer
	}
	writeJSON(w, http.StatusOK, out)
}

// suggestions loads a ticket's suggested articles in one query, best first
// as the ticket lists them; an article deleted since the handoff is left
// out.
func (s *Server) suggestions(ctx context.Context, externalIDs []string) ([]suggestionJSON, error) {
	out := []suggestionJSON{}
	if len(externalIDs) == 0 {
		return out, nil
	}
	articles, err := s.cfg.Knowledge.ArticlesByExternalID(ctx, externalIDs)
	if err != nil {
		return nil, err
	}
	titles := make(map[string]string, len(articles))
	for _, a := range articles {
		titles[a.ExternalID] = a.Title
	}
	for _, ext := range externalIDs {
		if title, ok := titles[ext]; ok {
			out = append(out, suggestionJSON{ArticleID: ext, Title: title})
		}
	}
	return out, nil
}

type replyInput struct {
	Text string `json:"text"`
}

// replyToHandoff stores the holding agent's reply in the conversation, its
// text as conversation.ValidateText makes it (the rule customers' messages
// follow too). The claim is extended first: that both renews it and proves the caller holds
// the ticket, so a colleague's reply is refused with 409 before anything
// is stored.
func (s *Server) replyToHandoff(w http.ResponseWriter, r *http.Request) {
	id, err := ticketID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var in replyInput
	if err := decodeJSON(w, r, &in, 64<<10); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	text, err := conversation.ValidateText(in.Text)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	agent := agentOf(r)
	t, err := s.cfg.Handoffs.ExtendClaim(r.Context(), id, agent, s.cfg.ClaimTTL)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := s.canReply(r.Context(), t.ConversationID); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	m, err := s.cfg.Transcripts.AppendMessage(r.Context(), conversation.Message{
		ConversationID: t.ConversationID, Role: conversation.HumanRole, Text: text, AgentID: agent,
	})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": toMessageJSON(m), "handoff": toTicketJSON(t)})
}

func (s *Server) releaseHandoff(w http.ResponseWriter, r *http.Request) {
	id, err := ticketID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	t, err := s.cfg.Handoffs.Release(r.Context(), id, agentOf(r))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toTicketJSON(t))
}

type reassignInput struct {
	Agent string `json:"agent"`
}

// reassignHandoff hands a ticket the caller holds to another agent, one
// who can sign in (cfg.Agents): a typo or a revoked agent is refused with
// 400 unknown_agent. An admin may hand over anybody's ticket: that is how a
// supervisor frees the customers of an agent who fell ill without waiting
// for the claim to expire.
func (s *Server) reassignHandoff(w http.ResponseWriter, r *http.Request) {
	id, err := ticketID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var in reassignInput
	if err := decodeJSON(w, r, &in, 16<<10); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if strings.TrimSpace(in.Agent) == "" {
		writeError(w, r, s.log, fmt.Errorf("agent is required: %w", relais.ErrInvalid))
		return
	}
	// 400 rather than 404: the ticket exists, it is the body that names
	// nobody, and the message says how to create the agent.
	var unknown *auth.UnknownAgentError
	if err := s.cfg.Agents.FindAgent(r.Context(), in.Agent); errors.As(err, &unknown) {
		writeError(w, r, s.log, errorf(http.StatusBadRequest, "unknown_agent", "%s", unknown.Error()))
		return
	} else if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	from := agentOf(r)
	if p, _ := PrincipalFrom(r.Context()); p.Role == RoleAdmin {
		t, err := s.cfg.Handoffs.Ticket(r.Context(), id)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if t.State == handoff.Claimed {
			from = t.AgentID
		}
	}
	t, err := s.cfg.Handoffs.Reassign(r.Context(), id, from, in.Agent, s.cfg.ClaimTTL)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toTicketJSON(t))
}
