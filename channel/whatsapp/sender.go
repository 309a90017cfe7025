package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"relais/channel"
	"relais/conversation"
)

// DefaultAPIBase is the Graph API, with the version Relais was written
// against.
const DefaultAPIBase = "https://graph.facebook.com/v21.0"

// MaxTextChars is the longest text body WhatsApp takes in one message;
// longer replies go out in several, in order.
const MaxTextChars = 4096

// Sender delivers text messages through the Cloud API.
type Sender struct {
	APIBase       string // DefaultAPIBase when empty
	AccessToken   string
	PhoneNumberID string
	Client        *http.Client // http.DefaultClient when nil
}

var _ channel.Sender = (*Sender)(nil)

// Send posts msg.Text to msg.Recipient, split into parts of at most
// MaxTextChars sent in order; the receipt holds the last part's wamid. A
// rate limit (429), a 5xx or a network error is transient; any other
// refusal is channel.Permanent. Errors carry Graph's error code, never the
// text. When a later part fails after earlier ones went out, a retry sends
// those again: WhatsApp has no idempotency key for sends.
func (s *Sender) Send(ctx context.Context, msg conversation.OutboxMessage) (channel.Receipt, error) {
	if msg.Recipient == "" {
		return channel.Receipt{}, channel.Permanent(fmt.Errorf("whatsapp send: no recipient"))
	}
	var rc channel.Receipt
	for _, part := range splitText(msg.Text, MaxTextChars) {
		id, err := s.sendText(ctx, msg.Recipient, part)
		if err != nil {
			return channel.Receipt{}, err
		}
		rc.ProviderMessageID = id
	}
	return rc, nil
}

type graphError struct {
	Error struct {
		Type string `json:"type"`
		Code int    `json:"code"`
	} `json:"error"`
}

func (s *Sender) sendText(ctx context.Context, to, text string) (string, error) {
	body, err := json.Marshal(map[string]any{
		"messaging_product": "whatsapp",
		"to":                to,
		"type":              "text",
		"text":              map[string]string{"body": text},
	})
	if err != nil {
		return "", fmt.Errorf("whatsapp send: encode: %w", err)
	}
	base := s.APIBase
	if base == "" {
		base = DefaultAPIBase
	}
	url := strings.TrimRight(base, "/") + "/" + s.PhoneNumberID + "/messages"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", channel.Permanent(fmt.Errorf("whatsapp send: build request: %w", err))
	}
	req.Header.Set("Authorization", "Bearer "+s.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// Transient: a timeout or a connection that failed. The error of
		// the client names the URL, which holds no secret.
		return "", fmt.Errorf("whatsapp send: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("whatsapp send: read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var ge graphError
		_ = json.Unmarshal(raw, &ge) // best effort: the status decides
		err := fmt.Errorf("whatsapp send: HTTP %d, Graph error code %d (%s)", resp.StatusCode, ge.Error.Code, clip(ge.Error.Type, 64))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return "", err
		}
		return "", channel.Permanent(err)
	}
	var ok struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil || len(ok.Messages) == 0 {
		// Accepted, most likely sent: retrying could send it twice.
		return "", nil
	}
	return ok.Messages[0].ID, nil
}

// splitText cuts s into parts of at most max characters (runes), preferring
// to cut after a newline or a space in the last fifth of a part.
func splitText(s string, max int) []string {
	var parts []string
	for utf8.RuneCountInString(s) > max {
		cut := 0 // byte offset after max runes
		for i := 0; i < max; i++ {
			_, n := utf8.DecodeRuneInString(s[cut:])
			cut += n
		}
		at := cut
		if i := strings.LastIndexAny(s[:cut], "\n "); i >= 0 && utf8.RuneCountInString(s[:i]) >= max*4/5 {
			at = i + 1
		}
		parts = append(parts, s[:at])
		s = s[at:]
	}
	if s != "" || len(parts) == 0 {
		parts = append(parts, s)
	}
	return parts
}
