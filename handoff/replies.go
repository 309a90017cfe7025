package handoff

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/relais-ai/relais"
)

// The tools admins prepare for agents: quick replies (canned answers an
// agent inserts by typing "/" and a shortcut) and labels (tags an agent
// puts on a conversation: "refund", "vip", ...).

// QuickReply is a canned answer: typing "/" + Shortcut in the reply box
// offers Text.
type QuickReply struct {
	ID        int64     `json:"id"`
	Shortcut  string    `json:"shortcut"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Label is a tag agents put on conversations.
type Label struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Bounds of quick replies and labels.
const (
	MaxShortcutLen       = 32
	MaxQuickReplyBytes   = 4096
	MaxLabelLen          = 40
	MaxQuickReplies      = 500
	MaxLabels            = 200
	MaxConversationLabel = 20
)

// ReplyTools keeps the quick replies and labels, shared by every replica.
type ReplyTools interface {
	// QuickReplies lists every quick reply by shortcut.
	QuickReplies(ctx context.Context) ([]QuickReply, error)
	// SaveQuickReply creates q (ID 0) or replaces quick reply q.ID, and
	// returns it as stored. relais.ErrInvalid when ValidateQuickReply
	// refuses q; relais.ErrConflict when another quick reply has its
	// shortcut; relais.ErrNotFound when q.ID does not exist.
	SaveQuickReply(ctx context.Context, q QuickReply) (QuickReply, error)
	// DeleteQuickReply deletes quick reply id; relais.ErrNotFound if none.
	DeleteQuickReply(ctx context.Context, id int64) error
	// Labels lists every label by name.
	Labels(ctx context.Context) ([]Label, error)
	// CreateLabel stores a label named name (as ValidateLabel gives it).
	// relais.ErrInvalid when ValidateLabel refuses it; relais.ErrConflict
	// when a label of that name exists, whatever its case.
	CreateLabel(ctx context.Context, name string) (Label, error)
	// DeleteLabel deletes label id and takes it off every conversation;
	// relais.ErrNotFound if none.
	DeleteLabel(ctx context.Context, id int64) error
	// ConversationLabels lists the labels of a conversation, by name.
	ConversationLabels(ctx context.Context, conversationID int64) ([]Label, error)
	// SetConversationLabels makes labelIDs the labels of a conversation
	// and returns them, by name. relais.ErrNotFound when the conversation
	// or one of the labels does not exist; relais.ErrInvalid for more than
	// MaxConversationLabel labels.
	SetConversationLabels(ctx context.Context, conversationID int64, labelIDs []int64) ([]Label, error)
}

// ValidateQuickReply checks a quick reply and returns it as stored: the
// shortcut without a leading "/", lowercased; the text with surrounding
// spaces trimmed. A shortcut is 1 to MaxShortcutLen letters, digits, '-'
// or '_', so that "/" followed by it is one word in the reply box. The
// error wraps relais.ErrInvalid.
func ValidateQuickReply(q QuickReply) (QuickReply, error) {
	q.Shortcut = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(q.Shortcut), "/"))
	q.Text = strings.TrimSpace(q.Text)
	switch {
	case q.Shortcut == "":
		return QuickReply{}, fmt.Errorf("quick reply without a shortcut: %w", relais.ErrInvalid)
	case utf8.RuneCountInString(q.Shortcut) > MaxShortcutLen:
		return QuickReply{}, fmt.Errorf("shortcut %q is longer than %d characters: %w", q.Shortcut, MaxShortcutLen, relais.ErrInvalid)
	case strings.IndexFunc(q.Shortcut, notShortcut) >= 0:
		return QuickReply{}, fmt.Errorf("shortcut %q: use letters, digits, - and _ only: %w", q.Shortcut, relais.ErrInvalid)
	case q.Text == "":
		return QuickReply{}, fmt.Errorf("quick reply /%s without a text: %w", q.Shortcut, relais.ErrInvalid)
	case len(q.Text) > MaxQuickReplyBytes:
		return QuickReply{}, fmt.Errorf("quick reply /%s is longer than %d bytes: %w", q.Shortcut, MaxQuickReplyBytes, relais.ErrInvalid)
	case !utf8.ValidString(q.Text) || strings.ContainsRune(q.Text, 0):
		return QuickReply{}, fmt.Errorf("quick reply /%s is not valid text: %w", q.Shortcut, relais.ErrInvalid)
	}
	return q, nil
}

func notShortcut(r rune) bool {
	return r != '-' && r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r)
}

// ValidateLabel checks a label's name and returns it as stored, trimmed:
// 1 to MaxLabelLen characters, no control character. The error wraps
// relais.ErrInvalid.
func ValidateLabel(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	switch {
	case name == "":
		return "", fmt.Errorf("label without a name: %w", relais.ErrInvalid)
	case utf8.RuneCountInString(name) > MaxLabelLen:
		return "", fmt.Errorf("label %q is longer than %d characters: %w", name, MaxLabelLen, relais.ErrInvalid)
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", fmt.Errorf("label name is not valid text: %w", relais.ErrInvalid)
	}
	return name, nil
}

// ValidateConversationLabels checks the labels SetConversationLabels is
// given and returns them without repeats, in order.
func ValidateConversationLabels(ids []int64) ([]int64, error) {
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id <= 0 {
			return nil, fmt.Errorf("label id %d: want a positive whole number: %w", id, relais.ErrInvalid)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > MaxConversationLabel {
		return nil, fmt.Errorf("%d labels: a conversation has at most %d: %w", len(out), MaxConversationLabel, relais.ErrInvalid)
	}
	return out, nil
}
