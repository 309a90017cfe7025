package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
)

type messageInput struct {
	CustomerID     string `json:"customer_id"`
	Text           string `json:"text"`
	ConversationID int64  `json:"conversation_id"`
	// MessageID is the client's id of the message (or the Idempotency-Key
	// header): a retry with the same id gets the first outcome back.
	MessageID string `json:"message_id"`
}

type sourceJSON struct {
	ArticleID string  `json:"article_id"`
	Title     string  `json:"title"`
	Score     float64 `json:"score"`
}

type decisionJSON struct {
	ConversationID int64        `json:"conversation_id"`
	Action         string       `json:"action"`
	Text           string       `json:"text"`
	Sources        []sourceJSON `json:"sources"`
	Reason         string       `json:"reason,omitempty"`
	HandoffID      string       `json:"handoff_id,omitempty"`
	Confidence     float64      `json:"confidence"`
	Intent         string       `json:"intent,omitempty"`
	AskFeedback    bool         `json:"ask_feedback,omitempty"`
}

// postMessage runs a customer message through the assistant and returns
// its decision. The message is stored before anything else; a provider
// outage becomes a handoff, never a 5xx.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	var in messageInput
	if err := decodeJSON(w, r, &in, 64<<10); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	in.CustomerID = strings.TrimSpace(in.CustomerID)
	if in.CustomerID == "" {
		writeError(w, r, s.log, fmt.Errorf("customer_id is required: %w", relais.ErrInvalid))
		return
	}
	if in.ConversationID < 0 {
		writeError(w, r, s.log, fmt.Errorf("conversation_id must be positive: %w", relais.ErrInvalid))
		return
	}
	id, err := messageID(in.MessageID, r.Header.Get("Idempotency-Key"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	inbound := conversation.Inbound{
		Channel: conversation.APIChannel, CustomerID: in.CustomerID, ConversationID: in.ConversationID, Text: in.Text,
		ChannelMessageID: id,
	}
	// The domain's rule for a customer message (text, id limits);
	// HandleMessage applies it too, this only answers before any work.
	if _, err := conversation.ValidateInbound(inbound); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out, err := s.cfg.Messages.HandleMessage(r.Context(), inbound)
	if errors.Is(err, assistant.ErrInProgress) {
		w.Header().Set("Retry-After", "1")
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if out.Duplicate {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, toDecisionJSON(out))
}

// messageID is the client's id of a message, from the body or the
// Idempotency-Key header; both given, they must agree.
func messageID(body, header string) (string, error) {
	body, header = strings.TrimSpace(body), strings.TrimSpace(header)
	id := body
	switch {
	case body != "" && header != "" && body != header:
		return "", fmt.Errorf("message_id and the Idempotency-Key header differ; send one, or the same in both: %w", relais.ErrInvalid)
	case id == "":
		id = header
	}
	return id, nil
}

func toDecisionJSON(out assistant.Outcome) decisionJSON {
	d := out.Decision
	res := decisionJSON{
		// The API's callers show text as it comes: the answer's Markdown
		// arrives as plain text, its file's line wraps joined.
		ConversationID: out.Conversation.ID, Action: string(d.Action), Text: conversation.FormatText(d.Text, conversation.PlainText), Reason: d.Reason,
		HandoffID: out.HandoffID, Confidence: d.Confidence, Intent: d.Intent, AskFeedback: d.AskFeedback,
		Sources: []sourceJSON{},
	}
	for _, src := range d.Sources {
		res.Sources = append(res.Sources, sourceJSON{ArticleID: src.ArticleID, Title: src.Title, Score: src.Score})
	}
	return res
}

// ConversationReader lets an integrating app read a conversation back: how
// the replies of a person who took over reach a customer on the API channel.
type ConversationReader interface {
	Conversation(ctx context.Context, id int64) (conversation.Conversation, error)
	Messages(ctx context.Context, conversationID int64, limit int) ([]conversation.Message, error)
}

type conversationMessageJSON struct {
	ID        int64     `json:"id"`
	Role      string    `json:"role"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// listConversationMessages returns a conversation's messages after ?after=
// (a message id), oldest first, to the app of the customer it belongs to:
// ?customer_id= must match, and a conversation of another customer is
// reported as not found rather than forbidden, so ids cannot be probed.
func (s *Server) listConversationMessages(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "conversation")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	q := r.URL.Query()
	customer := strings.TrimSpace(q.Get("customer_id"))
	if customer == "" {
		writeError(w, r, s.log, fmt.Errorf("customer_id is required: %w", relais.ErrInvalid))
		return
	}
	after, err := intParam(q.Get("after"), 0, 0, 1<<62, "after")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	conv, err := s.cfg.Conversations.Conversation(r.Context(), id)
	if err == nil && conv.CustomerID != customer {
		err = fmt.Errorf("conversation %d: %w", id, relais.ErrNotFound)
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	msgs, err := s.cfg.Conversations.Messages(r.Context(), id, 200)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := []conversationMessageJSON{}
	for _, m := range msgs {
		if m.ID > int64(after) {
			text := m.Text
			if m.Role == conversation.Assistant {
				text = conversation.FormatText(text, conversation.PlainText) // as POST /v1/messages gave it
			}
			out = append(out, conversationMessageJSON{ID: m.ID, Role: string(m.Role), Text: text, CreatedAt: m.CreatedAt})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversation_id": id, "state": string(conv.State), "messages": out})
}
