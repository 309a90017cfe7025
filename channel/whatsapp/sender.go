package whatsapp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sony/gobreaker/v2"

	"github.com/relais-ai/relais/channel"
	"github.com/relais-ai/relais/conversation"
)

// DefaultAPIBase is the Graph API, with the version Relais was written
// against.
const DefaultAPIBase = "https://graph.facebook.com/v21.0"

// MaxTextChars is the longest text body WhatsApp takes in one message;
// longer replies go out in several, in order.
const MaxTextChars = 4096

// Defaults of the Sender's zero fields.
const (
	DefaultRetries         = 2
	DefaultRetryWait       = 500 * time.Millisecond
	DefaultBreakerFailures = 5
	DefaultBreakerOpen     = 30 * time.Second
)

// pairRateWait is how long WhatsApp wants between two messages to the same
// customer (error 131056: about one every 6 s).
const pairRateWait = 6 * time.Second

// Sender delivers the outbox's messages through the Cloud API: text, split
// at MaxTextChars, and an answer that asks "did this help?" as a message
// with Yes/No reply buttons (see feedback.go).
//
// Each Graph call goes through a circuit breaker (gobreaker): after
// BreakerFailures transient failures in a row it opens, and for
// BreakerOpen every Send fails at once, transiently, without calling
// Graph; then one trial call decides whether it closes again. A transient
// failure is retried within the Send, Retries times after a wait that
// doubles from RetryWait, while the Send's context leaves time for it;
// after that the error goes back to the Dispatcher, which retries the
// message after conversation.OutboxBackoff. Retrying the one call here
// rather than the whole message keeps the parts already sent of a long
// message from going out twice.
type Sender struct {
	APIBase       string // DefaultAPIBase when empty
	AccessToken   string
	PhoneNumberID string
	Client        *http.Client // http.DefaultClient when nil
	Logger        *slog.Logger // nil discards
	// Retries is how many more times a call that failed transiently is
	// tried within one Send: DefaultRetries when 0, none when negative.
	Retries int
	// RetryWait is the first wait before a retry, doubled after each and
	// jittered; DefaultRetryWait when 0. A pair rate limit (131056) waits
	// at least the 6 s WhatsApp asks for.
	RetryWait time.Duration
	// BreakerFailures is how many transient failures in a row open the
	// breaker; DefaultBreakerFailures when 0.
	BreakerFailures uint32
	// BreakerOpen is how long the open breaker refuses calls before it
	// lets one through to try; DefaultBreakerOpen when 0.
	BreakerOpen time.Duration

	once    sync.Once
	breaker *gobreaker.CircuitBreaker[string]
	// pairWait replaces pairRateWait in tests when set.
	pairWait time.Duration
}

var _ channel.Sender = (*Sender)(nil)

// ErrBreakerOpen is the transient failure of a Send refused by the open
// breaker without calling the Graph API.
var ErrBreakerOpen = errors.New("whatsapp send: the Graph API failed repeatedly, breaker open: not called")

// GraphError is a refusal of the Graph API. It keeps the HTTP status, the
// error code and type, never the error's message, which may quote what was
// sent.
type GraphError struct {
	Status int
	Code   int    // Graph's error.code; 0 when the body had none
	Type   string // Graph's error.type, such as "OAuthException"
}

func (e *GraphError) Error() string {
	s := fmt.Sprintf("whatsapp send: HTTP %d, Graph error code %d", e.Status, e.Code)
	if e.Type != "" {
		s += " (" + e.Type + ")"
	}
	if what := graphCodes[e.Code]; what != "" {
		s += ": " + what
	}
	return s
}

// Transient reports whether trying again later may succeed: a rate limit
// (HTTP 429, or Graph codes 4, 80007, 130429 and 131056, which come with
// a 400 too) or a server error (5xx).
func (e *GraphError) Transient() bool {
	switch e.Code {
	case 4, 80007, 130429, 131056:
		return true
	}
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// graphCodes names the Graph error codes an operator meets most, for the
// outbox's last error that the console shows.
var graphCodes = map[int]string{
	0:      "authentication failed (check RELAIS_WHATSAPP_ACCESS_TOKEN)",
	4:      "application request limit reached",
	10:     "permission denied",
	100:    "invalid parameter",
	190:    "access expired or revoked (check RELAIS_WHATSAPP_ACCESS_TOKEN)",
	80007:  "account rate limit reached",
	130429: "throughput rate limit reached",
	131000: "something went wrong at WhatsApp",
	131026: "message undeliverable to this recipient",
	131047: "more than 24 hours since the customer's last message: only a template may be sent",
	131051: "unsupported message type",
	131056: "too many messages to this customer in a short time",
	133010: "phone number not registered",
}

func (s *Sender) init() {
	s.once.Do(func() {
		failures := s.BreakerFailures
		if failures == 0 {
			failures = DefaultBreakerFailures
		}
		open := s.BreakerOpen
		if open <= 0 {
			open = DefaultBreakerOpen
		}
		s.breaker = gobreaker.NewCircuitBreaker[string](gobreaker.Settings{
			Name:        "whatsapp-graph",
			MaxRequests: 1,
			Timeout:     open,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
			// Only a Graph API that fails to answer counts against it:
			// a refusal of one message (a wrong recipient, the 24-hour
			// window), or one customer written to too fast, says the API
			// works.
			IsSuccessful: func(err error) bool {
				var ge *GraphError
				if errors.As(err, &ge) {
					return !ge.Transient() || ge.Code == 131056
				}
				return err == nil || channel.IsPermanent(err)
			},
			// A Send whose caller gave up says nothing of the API.
			IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
			OnStateChange: func(name string, from, to gobreaker.State) {
				s.logger().Warn("whatsapp send: circuit breaker state changed", "breaker", name, "from", from.String(), "to", to.String())
			},
		})
	})
}

func (s *Sender) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// BreakerState is the breaker's state: "closed", "half-open" or "open".
func (s *Sender) BreakerState() string {
	s.init()
	return s.breaker.State().String()
}

// Send delivers msg to msg.Recipient: its text in parts of at most
// MaxTextChars, in order, or, when it asks for feedback, with Yes/No
// buttons; the receipt holds the last part's wamid. A rate limit, a 5xx,
// a network error or the open breaker is transient; any other refusal is
// channel.Permanent. Errors carry Graph's error code, never the text.
// When a later part fails after earlier ones went out, the Dispatcher's
// retry sends those again: WhatsApp has no idempotency key for sends.
func (s *Sender) Send(ctx context.Context, msg conversation.OutboxMessage) (channel.Receipt, error) {
	if msg.Recipient == "" {
		return channel.Receipt{}, channel.Permanent(fmt.Errorf("whatsapp send: no recipient"))
	}
	s.init()
	parts, err := outgoing(msg)
	if err != nil {
		return channel.Receipt{}, channel.Permanent(err)
	}
	var rc channel.Receipt
	for _, p := range parts {
		p["messaging_product"] = "whatsapp"
		p["to"] = msg.Recipient
		id, err := s.call(ctx, p)
		if err != nil {
			return channel.Receipt{}, err
		}
		rc.ProviderMessageID = id
	}
	return rc, nil
}

// outgoing is what msg is sent as: the bodies of its Graph messages, in
// order, without the recipient.
func outgoing(msg conversation.OutboxMessage) ([]map[string]any, error) {
	if msg.AskFeedback {
		// An answer, written from the knowledge base's Markdown. Other
		// messages (an agent's, a notice) go as they were typed.
		return feedbackMessages(FormatText(msg.Text), msg.Language)
	}
	return textMessages(msg.Text), nil
}

func textMessages(text string) []map[string]any {
	var out []map[string]any
	for _, part := range splitText(text, MaxTextChars) {
		out = append(out, map[string]any{"type": "text", "text": map[string]string{"body": part}})
	}
	return out
}

// call posts one message, retrying a transient failure while ctx allows.
func (s *Sender) call(ctx context.Context, payload map[string]any) (string, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return "", channel.Permanent(fmt.Errorf("whatsapp send: encode: %w", err))
	}
	retries := s.Retries
	if retries == 0 {
		retries = DefaultRetries
	}
	wait := s.RetryWait
	if wait <= 0 {
		wait = DefaultRetryWait
	}
	for attempt := 0; ; attempt++ {
		id, err := s.breaker.Execute(func() (string, error) { return s.post(ctx, body) })
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			return "", fmt.Errorf("%w (%v)", ErrBreakerOpen, err)
		}
		if err == nil || channel.IsPermanent(err) || attempt >= retries {
			return id, err
		}
		d := wait/2 + rand.N(wait/2+1) // jitter: senders that failed together do not retry together
		wait *= 2
		var ge *GraphError
		if errors.As(err, &ge) && ge.Code == 131056 {
			d = max(d, cmp.Or(s.pairWait, pairRateWait))
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < 2*d {
			return "", err // no time left for a try: the Dispatcher retries later
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(d):
		}
	}
}

// post makes one Graph call.
func (s *Sender) post(ctx context.Context, body []byte) (string, error) {
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
		var body struct {
			Error struct {
				Type string `json:"type"`
				Code int    `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &body) // best effort: the status decides without it
		ge := &GraphError{Status: resp.StatusCode, Code: body.Error.Code, Type: clip(body.Error.Type, 64)}
		if ge.Transient() {
			return "", ge
		}
		return "", channel.Permanent(ge)
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
