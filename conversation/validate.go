package conversation

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/relais-ai/relais"
)

// The input rules every Store shares. Stores call them before they touch
// storage, so that each rule is stated once and a store can only differ from
// another in what its database enforces; conversation/storetest pins them
// down.

// MaxCustomerIDBytes bounds a customer's id on a channel: room for any
// phone number, e-mail address or client-made id, not for a document.
const MaxCustomerIDBytes = 256

// MaxChannelMessageIDBytes bounds a channel's id of a message (a WhatsApp
// wamid, a web chat or API client's id), and of the other things a channel
// names for us: a delivery status's message, a media file.
const MaxChannelMessageIDBytes = 256

// ValidateInbound checks a customer message for Store.Receive and returns
// it as it is to be stored, its text through ValidateText. Channel adapters
// (HTTP, web chat, WhatsApp) may call it to refuse a message before any
// work; the stores call it in any case. The error wraps relais.ErrInvalid
// when in has no Channel or no CustomerID (together they say whose
// conversation a message goes to), when the CustomerID is longer than
// MaxCustomerIDBytes or the ChannelMessageID than MaxChannelMessageIDBytes,
// when either id or the Channel holds a control character (identifiers
// from a channel are never meant to, and PostgreSQL refuses a NUL), and
// when the text breaks ValidateText. A message with Media may have no text
// (a photo without a caption); its media must pass ValidateMedia.
func ValidateInbound(in Inbound) (Inbound, error) {
	if in.Channel == "" || in.CustomerID == "" {
		return Inbound{}, fmt.Errorf("channel and customer id are required: %w", relais.ErrInvalid)
	}
	if len(in.CustomerID) > MaxCustomerIDBytes {
		return Inbound{}, fmt.Errorf("customer id is longer than %d bytes: %w", MaxCustomerIDBytes, relais.ErrInvalid)
	}
	if len(in.ChannelMessageID) > MaxChannelMessageIDBytes {
		return Inbound{}, fmt.Errorf("channel message id is longer than %d bytes: %w", MaxChannelMessageIDBytes, relais.ErrInvalid)
	}
	if hasControl(in.Channel) || hasControl(in.CustomerID) || hasControl(in.ChannelMessageID) {
		return Inbound{}, fmt.Errorf("channel, customer id and channel message id must not hold control characters: %w", relais.ErrInvalid)
	}
	if hasControl(in.Phone) || len(in.Phone) > 64 {
		return Inbound{}, fmt.Errorf("phone number: %w", relais.ErrInvalid)
	}
	if in.Media != nil {
		if err := ValidateMedia(*in.Media); err != nil {
			return Inbound{}, err
		}
		if strings.TrimSpace(in.Text) == "" {
			in.Text = ""
			return in, nil
		}
	}
	text, err := ValidateText(in.Text)
	if err != nil {
		return Inbound{}, fmt.Errorf("message %w", err)
	}
	in.Text = text
	return in, nil
}

// AgentAfter checks the actor of a transition to state to and returns the
// AgentID the conversation has after it: the agent's id when an agent takes
// it, "" otherwise. The error wraps relais.ErrInvalid for an empty actor, and
// for a move to Agent whose actor is not "agent:<id>" with a non-empty id.
func AgentAfter(to State, actor string) (string, error) {
	if actor == "" {
		return "", fmt.Errorf("empty actor: %w", relais.ErrInvalid)
	}
	if to != Agent {
		return "", nil
	}
	id, ok := strings.CutPrefix(actor, "agent:")
	if !ok || id == "" {
		return "", fmt.Errorf("actor %q: an agent takes a conversation as \"agent:<id>\": %w", actor, relais.ErrInvalid)
	}
	return id, nil
}

// ValidateAppend checks a message for Store.AppendMessage and returns it
// as it is to be stored, its text through CleanText (an assistant's or a
// system text may be long or empty; an agent's went through ValidateText
// before). The error wraps relais.ErrInvalid for a customer message (those
// come through Receive), an unknown role, an agent message without AgentID,
// and an assistant or system message with one.
func ValidateAppend(m Message) (Message, error) {
	switch m.Role {
	case HumanRole:
		if m.AgentID == "" {
			return Message{}, fmt.Errorf("agent message without agent id: %w", relais.ErrInvalid)
		}
	case Assistant, System:
		if m.AgentID != "" {
			return Message{}, fmt.Errorf("%s message with an agent id: %w", m.Role, relais.ErrInvalid)
		}
	case Customer:
		return Message{}, fmt.Errorf("customer messages are stored by Receive: %w", relais.ErrInvalid)
	default:
		return Message{}, fmt.Errorf("unknown role %q: %w", m.Role, relais.ErrInvalid)
	}
	m.Text = CleanText(m.Text)
	return m, nil
}

// ValidateDecision checks a record for Store.RecordDecision. The error wraps
// relais.ErrInvalid for an empty Action, a Confidence that is NaN or
// infinite, and a non-empty Trace that is not JSON: analytics and evals read
// every stored trace back as JSON.
func ValidateDecision(r DecisionRecord) error {
	if r.Action == "" {
		return fmt.Errorf("empty action: %w", relais.ErrInvalid)
	}
	if math.IsNaN(r.Confidence) || math.IsInf(r.Confidence, 0) {
		return fmt.Errorf("confidence %v: %w", r.Confidence, relais.ErrInvalid)
	}
	if len(r.Trace) > 0 && !json.Valid(r.Trace) {
		return fmt.Errorf("trace is not JSON: %w", relais.ErrInvalid)
	}
	return nil
}
