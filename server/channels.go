package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

// ChannelState is what channels recorded of a conversation's customer and
// messages (the stores implement it).
type ChannelState interface {
	Conversation(ctx context.Context, id int64) (conversation.Conversation, error)
	conversation.Contacts
	conversation.MediaStore
	conversation.Deliveries
}

type mediaJSON struct {
	Kind     string `json:"kind"`
	MimeType string `json:"mime_type,omitempty"`
	Filename string `json:"filename,omitempty"`
	Status   string `json:"status"`
	Size     int64  `json:"size,omitempty"`
	// URL serves the content to an agent while Status is "stored".
	URL string `json:"url,omitempty"`
}

type deliveryJSON struct {
	Outbox     string     `json:"outbox"` // pending, sent, failed
	LastError  string     `json:"last_error,omitempty"`
	Status     string     `json:"status,omitempty"` // the channel's: sent, delivered, read, failed
	ErrorCode  int        `json:"error_code,omitempty"`
	StatusAt   *time.Time `json:"status_at,omitempty"`
	ProviderID string     `json:"provider_message_id,omitempty"`
}

type customerJSON struct {
	Channel        string     `json:"channel"`
	Consent        string     `json:"consent"` // "opted_in" or "opted_out"
	ConsentAt      *time.Time `json:"consent_at,omitempty"`
	LastMessageAt  *time.Time `json:"last_message_at,omitempty"`
	WindowClosesAt *time.Time `json:"window_closes_at,omitempty"`
	// CanReply is false when an agent's reply would be refused now, and
	// ReplyBlocked says why.
	CanReply     bool   `json:"can_reply"`
	ReplyBlocked string `json:"reply_blocked,omitempty"`
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// contactOf returns the customer of conversation id as channels know them.
func (s *Server) contactOf(ctx context.Context, id int64) (conversation.Contact, error) {
	conv, err := s.cfg.Channels.Conversation(ctx, id)
	if err != nil {
		return conversation.Contact{}, err
	}
	c, err := s.cfg.Channels.Contact(ctx, conv.Channel, conv.CustomerID)
	if errors.Is(err, relais.ErrNotFound) {
		return conversation.Contact{Channel: conv.Channel, ID: conv.CustomerID}, nil
	}
	return c, err
}

// canReply refuses an agent's reply the customer may not receive now
// (conversation.CanSendFreeForm), before anything is stored.
func (s *Server) canReply(ctx context.Context, conversationID int64) error {
	if s.cfg.Channels == nil {
		return nil
	}
	c, err := s.contactOf(ctx, conversationID)
	if err != nil {
		return err
	}
	return conversation.CanSendFreeForm(c, 0, s.now())
}

// annotate adds the media and delivery of each message to transcript, and
// returns the customer's consent and service window.
func (s *Server) annotate(ctx context.Context, conversationID int64, transcript []messageJSON) (customerJSON, error) {
	media, err := s.cfg.Channels.ConversationMedia(ctx, conversationID)
	if err != nil {
		return customerJSON{}, err
	}
	deliveries, err := s.cfg.Channels.ConversationDeliveries(ctx, conversationID)
	if err != nil {
		return customerJSON{}, err
	}
	byMessage := make(map[int64]conversation.Media, len(media))
	for _, m := range media {
		byMessage[m.MessageID] = m
	}
	for i := range transcript {
		if m, ok := byMessage[transcript[i].ID]; ok {
			mj := &mediaJSON{Kind: m.Kind, MimeType: m.MimeType, Filename: m.Filename, Status: string(m.Status), Size: m.Size}
			if m.Status == conversation.MediaStored {
				mj.URL = "/v1/media/" + strconv.FormatInt(m.MessageID, 10)
			}
			transcript[i].Media = mj
		}
		if d, ok := deliveries[transcript[i].ID]; ok {
			transcript[i].Delivery = &deliveryJSON{Outbox: string(d.Outbox), LastError: d.LastError, Status: d.Status,
				ErrorCode: d.ErrorCode, StatusAt: optionalTime(d.StatusAt), ProviderID: d.ProviderMessageID}
		}
	}
	c, err := s.contactOf(ctx, conversationID)
	if err != nil {
		return customerJSON{}, err
	}
	out := customerJSON{Channel: c.Channel, Consent: "opted_in", ConsentAt: optionalTime(c.ConsentAt),
		LastMessageAt: optionalTime(c.LastInboundAt), WindowClosesAt: optionalTime(conversation.WindowClosesAt(c)), CanReply: true}
	if c.OptedOut {
		out.Consent = "opted_out"
	}
	if err := conversation.CanSendFreeForm(c, 0, s.now()); err != nil {
		out.CanReply, out.ReplyBlocked = false, err.Error()
	}
	return out, nil
}

// getMedia serves a customer's stored photo or document to an agent. The
// content is the customer's: it is never rendered as a page of Relais (no
// sniffing, a sandbox), and anything but an image downloads.
func (s *Server) getMedia(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "media")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	m, content, err := s.cfg.Channels.MediaContent(r.Context(), id)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if m.Status != conversation.MediaStored {
		writeError(w, r, s.log, fmt.Errorf("the media of message %d is not stored (%s): %w", id, m.Status, relais.ErrNotFound))
		return
	}
	ct := m.MimeType
	switch ct {
	case "image/jpeg", "image/png", "image/webp", "image/gif":
		w.Header().Set("Content-Disposition", "inline")
	default:
		if ct == "" {
			ct = "application/octet-stream"
		}
		w.Header().Set("Content-Disposition", "attachment; filename=\"message-"+strconv.FormatInt(id, 10)+"\"")
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(content)
}
