package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/redact"
)

// The agent console's working day beyond the queue: who the customer is and
// what they asked before, the colleagues a ticket can go to, and the quick
// replies and labels admins prepare.

// agentJSON is an agent a ticket can be reassigned to, with their presence:
// "online", "away", or "offline" when not heard from within
// handoff.PresenceTTL.
type agentJSON struct {
	AgentID string `json:"agent_id"`
	Status  string `json:"status"`
	You     bool   `json:"you,omitempty"`
}

// listAgents serves GET /v1/agents: everybody who can sign in to work the
// queue (the names a reassignment accepts), online first, then away, then
// the others, each group by name.
func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	names, err := s.cfg.Agents.(AgentDirectory).KnownAgents(ctx)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	status := map[string]handoff.PresenceStatus{}
	if s.cfg.Presence != nil {
		ps, err := s.cfg.Presence.Presences(ctx, s.now().Add(-handoff.PresenceTTL))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		for _, p := range ps {
			status[p.AgentID] = p.Status
		}
	}
	me := agentOf(r)
	out := make([]agentJSON, 0, len(names))
	for _, rank := range []string{string(handoff.Online), string(handoff.Away), "offline"} {
		for _, n := range names {
			st := string(status[n])
			if st == "" {
				st = "offline"
			}
			if st == rank {
				out = append(out, agentJSON{AgentID: n, Status: st, You: n == me})
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

type pastQuestionJSON struct {
	ConversationID int64     `json:"conversation_id"`
	Question       string    `json:"question"`
	Outcome        string    `json:"outcome"`
	Reason         string    `json:"reason,omitempty"`
	At             time.Time `json:"at"`
	TicketID       int64     `json:"ticket_id,omitempty"`
	TicketState    string    `json:"ticket_state,omitempty"`
	Agent          string    `json:"agent,omitempty"`
}

type customerPanelJSON struct {
	Channel string `json:"channel"`
	// ID is the customer's identity on the channel (a phone number, a web
	// chat id), and Phone their number when the channel gave another one;
	// both hidden by redact.MaskID when Masked.
	ID      string             `json:"id"`
	Phone   string             `json:"phone,omitempty"`
	Masked  bool               `json:"masked"`
	History []pastQuestionJSON `json:"history"`
}

// HistoryLimit is how many earlier questions the customer panel shows.
const HistoryLimit = 20

// customerPanel serves GET /v1/handoffs/{id}/customer: who the ticket's
// customer is and what they asked before, with how each question ended.
// With Config.MaskCustomers their identifiers are masked, and so is the
// personal data redact finds in their earlier questions: the agent sees
// the conversation at hand in full, the history only as much as needed.
func (s *Server) customerPanel(w http.ResponseWriter, r *http.Request) {
	t, err := s.pathTicket(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	ctx := r.Context()
	conv, err := s.cfg.Channels.Conversation(ctx, t.ConversationID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := customerPanelJSON{Channel: conv.Channel, ID: conv.CustomerID, Masked: s.cfg.MaskCustomers, History: []pastQuestionJSON{}}
	if c, err := s.contactOf(ctx, t.ConversationID); err != nil {
		writeError(w, r, s.log, err)
		return
	} else if c.Phone != "" && c.Phone != c.ID {
		out.Phone = c.Phone
	}
	past, err := s.cfg.History.CustomerHistory(ctx, conv.Channel, conv.CustomerID, HistoryLimit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var red redact.Redactor
	for _, p := range past {
		q := p.Question
		if s.cfg.MaskCustomers {
			q = red.Redact(q)
		}
		out.History = append(out.History, pastQuestionJSON{ConversationID: p.ConversationID, Question: q,
			Outcome: string(p.Outcome()), Reason: p.Reason, At: p.At, TicketID: p.TicketID,
			TicketState: string(p.TicketState), Agent: p.AgentID})
	}
	if s.cfg.MaskCustomers {
		out.ID = redact.MaskID(out.ID)
		if out.Phone != "" {
			out.Phone = redact.MaskID(out.Phone)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// listQuickReplies serves GET /v1/quick-replies, for agents.
func (s *Server) listQuickReplies(w http.ResponseWriter, r *http.Request) {
	qs, err := s.cfg.Tools.QuickReplies(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if qs == nil {
		qs = []handoff.QuickReply{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"quick_replies": qs})
}

type quickReplyInput struct {
	Shortcut string `json:"shortcut"`
	Text     string `json:"text"`
}

// saveQuickReply serves POST /v1/quick-replies (create) and PUT
// /v1/quick-replies/{id} (replace), for admins.
func (s *Server) saveQuickReply(w http.ResponseWriter, r *http.Request) {
	var id int64
	if chi.URLParam(r, "id") != "" {
		var err error
		if id, err = pathID(r, "quick reply"); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	var in quickReplyInput
	if err := decodeJSON(w, r, &in, 16<<10); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	q, err := s.cfg.Tools.SaveQuickReply(r.Context(), handoff.QuickReply{ID: id, Shortcut: in.Shortcut, Text: in.Text})
	if errors.Is(err, relais.ErrConflict) {
		writeError(w, r, s.log, errorf(http.StatusConflict, "conflict", "a quick reply /%s exists already; edit it instead", in.Shortcut))
		return
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	status := http.StatusOK
	if id == 0 {
		status = http.StatusCreated
	}
	writeJSON(w, status, q)
}

// deleteQuickReply serves DELETE /v1/quick-replies/{id}, for admins.
func (s *Server) deleteQuickReply(w http.ResponseWriter, r *http.Request) {
	s.deleteByID(w, r, "quick reply", s.cfg.Tools.DeleteQuickReply)
}

func (s *Server) deleteByID(w http.ResponseWriter, r *http.Request, what string, del func(context.Context, int64) error) {
	id, err := pathID(r, what)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if err := del(r.Context(), id); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listLabels serves GET /v1/labels, for agents.
func (s *Server) listLabels(w http.ResponseWriter, r *http.Request) {
	ls, err := s.cfg.Tools.Labels(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"labels": nonNilLabels(ls)})
}

func nonNilLabels(ls []handoff.Label) []handoff.Label {
	if ls == nil {
		return []handoff.Label{}
	}
	return ls
}

// createLabel serves POST /v1/labels {"name"}, for admins.
func (s *Server) createLabel(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, &in, 4<<10); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	l, err := s.cfg.Tools.CreateLabel(r.Context(), in.Name)
	if errors.Is(err, relais.ErrConflict) {
		writeError(w, r, s.log, errorf(http.StatusConflict, "conflict", "a label %q exists already", in.Name))
		return
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, l)
}

// deleteLabel serves DELETE /v1/labels/{id}, for admins: the label goes
// off every conversation too.
func (s *Server) deleteLabel(w http.ResponseWriter, r *http.Request) {
	s.deleteByID(w, r, "label", s.cfg.Tools.DeleteLabel)
}

// setTicketLabels serves PUT /v1/handoffs/{id}/labels {"labels": [ids]}:
// the labels of the ticket's conversation become those. Any agent may
// label a ticket they can read, as they can read any.
func (s *Server) setTicketLabels(w http.ResponseWriter, r *http.Request) {
	id, err := ticketID(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var in struct {
		Labels []int64 `json:"labels"`
	}
	if err := decodeJSON(w, r, &in, 16<<10); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	t, err := s.cfg.Handoffs.Ticket(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	ls, err := s.cfg.Tools.SetConversationLabels(r.Context(), t.ConversationID, in.Labels)
	if errors.Is(err, relais.ErrNotFound) {
		// The ticket exists: it is a label that does not (deleted by an
		// admin meanwhile).
		writeError(w, r, s.log, errorf(http.StatusBadRequest, "unknown_label", "a label was deleted meanwhile; reload the labels and try again"))
		return
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"labels": nonNilLabels(ls)})
}

// ticketLabels is the labels of a ticket's conversation for getHandoff,
// nil when labels are not kept.
func (s *Server) ticketLabels(ctx context.Context, conversationID int64) ([]handoff.Label, error) {
	if s.cfg.Tools == nil {
		return nil, nil
	}
	ls, err := s.cfg.Tools.ConversationLabels(ctx, conversationID)
	return nonNilLabels(ls), err
}

// whoAmI serves GET /v1/me: the caller's name (their agent id) and role,
// so that the console shows an admin the sections only admins can use.
func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"name": p.Name, "role": string(p.Role)})
}
