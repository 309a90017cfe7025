package whatsapp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/language"
)

// What to do with a message Relais cannot read (audio, location, contacts,
// stickers, reactions, unsupported): RELAIS_WHATSAPP_UNSUPPORTED.
const (
	UnsupportedReply   = "reply"   // ask politely for text, in the customer's language
	UnsupportedHandoff = "handoff" // hand the conversation to a person
)

// MaxMediaAttempts is how many failed downloads of a photo or document are
// retried before the conversation is handed off without it.
const MaxMediaAttempts = 5

// HandlerStore is what Handler needs of the store.
type HandlerStore interface {
	conversation.Turns
	conversation.MediaStore
	conversation.Contacts
}

// Handler decides about a stored WhatsApp message, in the background, and
// implements Resumer for the webhook and serve's resumer alike:
//   - a text goes to the assistant, except an opt-out ("STOP", "ARRÊT"),
//     acknowledged once in the customer's language;
//   - a photo or a document is downloaded (MaxBytes at most), stored, and
//     the conversation handed off, since a person looks at evidence; a
//     failed download leaves the message pending, to be retried when its
//     lease ends (MaxMediaAttempts in all), a file too large or refused is
//     recorded so and handed off all the same;
//   - anything else gets a polite request for text, or a handoff, by
//     Unsupported.
//
// Every outcome is a turn: stored once with the mark that the message was
// handled (a handoff with its ticket), so a redelivered message is never
// answered twice. While a person owns the conversation the turn is silent.
// Messages of other channels go to Assistant as they are.
type Handler struct {
	Store     HandlerStore
	Assistant Resumer             // assistant.Service
	Escalator assistant.Escalator // files the ticket of a handoff
	Media     *MediaClient
	// MaxBytes bounds a stored media; conversation.MaxMediaBytes when 0.
	MaxBytes int64
	// Unsupported is UnsupportedReply (when "") or UnsupportedHandoff.
	Unsupported string
	Logger      *slog.Logger
}

// Resume handles pending message rec; see Handler.
func (h *Handler) Resume(ctx context.Context, rec conversation.Received) (assistant.Outcome, error) {
	if rec.Conversation.Channel != Channel {
		return h.Assistant.Resume(ctx, rec)
	}
	md, err := h.Store.MessageMedia(ctx, rec.Message.ID)
	if errors.Is(err, relais.ErrNotFound) {
		if lang, ok := conversation.OptsOut(rec.Conversation.Channel, rec.Message.Text, false); ok {
			return h.optOut(ctx, rec, lang)
		}
		return h.Assistant.Resume(ctx, rec)
	}
	if err != nil {
		return assistant.Outcome{}, fmt.Errorf("read the media of message %d: %w", rec.Message.ID, err)
	}
	if conversation.Fetchable(md.Kind) {
		if md.Status == conversation.MediaPending {
			if err := h.fetch(ctx, md); err != nil {
				// Pending: the resumer tries again when its lease ends.
				return assistant.Outcome{}, err
			}
		}
		return h.handoff(ctx, rec, assistant.ReasonMediaReceived)
	}
	if h.Unsupported == UnsupportedHandoff {
		return h.handoff(ctx, rec, assistant.ReasonUnsupportedMessage)
	}
	lang := rec.Conversation.Language
	return h.reply(ctx, rec, conversation.Assistant, text(lang, "unsupported"), "reply", assistant.ReasonUnsupportedMessage, lang)
}

// fetch downloads and stores md's content, or records why it cannot be.
// It fails while the download may still succeed later.
func (h *Handler) fetch(ctx context.Context, md conversation.Media) error {
	content, mime, err := h.Media.Fetch(ctx, md.ProviderID, cmp.Or(h.MaxBytes, conversation.MaxMediaBytes))
	if err == nil {
		if err := h.Store.StoreMediaContent(ctx, md.MessageID, mime, content); err != nil && !errors.Is(err, relais.ErrConflict) {
			return fmt.Errorf("store the media of message %d: %w", md.MessageID, err)
		}
		return nil
	}
	status, size := fetchFailure(err)
	if status == conversation.MediaPending && md.Attempts+1 >= MaxMediaAttempts {
		status = conversation.MediaRefused // given up: a person asks the customer again
	}
	if ferr := h.Store.FailMedia(ctx, md.MessageID, status, size, clip(err.Error(), 300)); ferr != nil && !errors.Is(ferr, relais.ErrConflict) {
		return fmt.Errorf("record a failed download of the media of message %d: %w", md.MessageID, ferr)
	}
	if status == conversation.MediaPending {
		return fmt.Errorf("download the media of message %d (attempt %d of %d): %w", md.MessageID, md.Attempts+1, MaxMediaAttempts, err)
	}
	h.logger().WarnContext(ctx, "whatsapp: media not stored", "message", md.MessageID, "status", status, "error", err)
	return nil
}

// optOut answers an opt-out: the acknowledgment, once, for the message that
// opted the customer out; nothing for a repeated one.
func (h *Handler) optOut(ctx context.Context, rec conversation.Received, lang string) (assistant.Outcome, error) {
	c, err := h.Store.Contact(ctx, Channel, rec.Conversation.CustomerID)
	if err != nil {
		return assistant.Outcome{}, fmt.Errorf("read the consent of message %d's customer: %w", rec.Message.ID, err)
	}
	if !c.OptedOut || c.OptOutMessageID != rec.Message.ID {
		return h.silent(ctx, rec, "opt_out_repeated")
	}
	// A system message: the acknowledgment goes out whoever owns the
	// conversation.
	return h.reply(ctx, rec, conversation.System, text(lang, "opt_out"), "reply", "opt_out", lang)
}

// handoff hands the conversation to a person for rec, or, when one owns it
// already, completes the turn silently: they see the message.
func (h *Handler) handoff(ctx context.Context, rec conversation.Received, reason string) (assistant.Outcome, error) {
	conv := rec.Conversation
	if conv.State.BotSilent() {
		return h.silent(ctx, rec, assistant.ReasonAgentOwned)
	}
	d := assistant.Decision{Action: assistant.Handoff, Reason: reason, Language: conv.Language}
	turn := conversation.Turn{MessageID: rec.Message.ID,
		Decision: conversation.DecisionRecord{ConversationID: conv.ID, Action: string(assistant.Handoff), Reason: reason, Trace: []byte(`{}`)}}
	id, res, err := h.Escalator.Escalate(ctx, conv, d, turn)
	switch {
	case errors.Is(err, conversation.ErrNotOwned):
		return h.silent(ctx, rec, assistant.ReasonAgentOwned)
	case errors.Is(err, conversation.ErrHandled):
		return assistant.Outcome{Conversation: conv, Message: rec.Message, Duplicate: true}, nil
	case err != nil:
		return assistant.Outcome{}, fmt.Errorf("hand off message %d: %w", rec.Message.ID, err)
	}
	d.Text = ""
	if res.Reply != nil {
		d.Text = res.Reply.Text
	}
	return assistant.Outcome{Conversation: conv, Message: rec.Message, Reply: res.Reply, Decision: d, HandoffID: id}, nil
}

// reply completes rec's turn with a reply of role; silently when the bot
// may not speak.
func (h *Handler) reply(ctx context.Context, rec conversation.Received, role conversation.Role, body, action, reason, lang string) (assistant.Outcome, error) {
	conv := rec.Conversation
	if role == conversation.Assistant && conv.State.BotSilent() {
		return h.silent(ctx, rec, assistant.ReasonAgentOwned)
	}
	turn := conversation.Turn{MessageID: rec.Message.ID,
		Reply:    &conversation.Message{ConversationID: conv.ID, Role: role, Text: body},
		Decision: conversation.DecisionRecord{ConversationID: conv.ID, Action: action, Reason: reason, Trace: []byte(`{}`)}}
	res, err := h.Store.CompleteTurn(ctx, turn)
	switch {
	case errors.Is(err, conversation.ErrNotOwned):
		return h.silent(ctx, rec, assistant.ReasonAgentOwned)
	case errors.Is(err, conversation.ErrHandled):
		return assistant.Outcome{Conversation: conv, Message: rec.Message, Duplicate: true}, nil
	case err != nil:
		return assistant.Outcome{}, fmt.Errorf("answer message %d: %w", rec.Message.ID, err)
	}
	return assistant.Outcome{Conversation: conv, Message: rec.Message, Reply: res.Reply,
		Decision: assistant.Decision{Action: assistant.Action(action), Reason: reason, Text: body, Language: lang}}, nil
}

// silent completes rec's turn with no reply.
func (h *Handler) silent(ctx context.Context, rec conversation.Received, reason string) (assistant.Outcome, error) {
	_, err := h.Store.CompleteTurn(ctx, conversation.Turn{MessageID: rec.Message.ID,
		Decision: conversation.DecisionRecord{ConversationID: rec.Conversation.ID, Action: string(assistant.Handoff), Reason: reason, Trace: []byte(`{}`)}})
	if err != nil && !errors.Is(err, conversation.ErrHandled) {
		return assistant.Outcome{}, fmt.Errorf("complete message %d silently: %w", rec.Message.ID, err)
	}
	return assistant.Outcome{Conversation: rec.Conversation, Message: rec.Message,
		Decision: assistant.Decision{Action: assistant.Handoff, Reason: reason}}, nil
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// texts are the channel's own words to customers; English for an unknown
// language.
var texts = map[string]map[string]string{
	language.English: {
		"unsupported": "Sorry, I can only read text messages. Could you write your question in a message?",
		"opt_out":     "You will not receive any more messages from us. Write to us at any time to start again.",
	},
	language.French: {
		"unsupported": "Désolé, je ne peux lire que les messages écrits. Pouvez-vous écrire votre question dans un message ?",
		"opt_out":     "Vous ne recevrez plus de messages de notre part. Écrivez-nous à tout moment pour reprendre.",
	},
}

func text(lang, key string) string {
	if m, ok := texts[lang]; ok {
		return m[key]
	}
	return texts[language.English][key]
}
