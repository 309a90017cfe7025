package redact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"testing"
	"time"
)

// customerNote is a LogValuer, resolved before it is redacted.
type customerNote string

func (n customerNote) LogValue() slog.Value { return slog.StringValue(string(n)) }

func TestLogHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	log = log.With("customer", "jane@example.com").WithGroup("req")
	log.InfoContext(context.Background(), "reply to jane@example.com failed",
		"text", "call me on +33 6 12 34 56 78",
		"error", errors.New("provider said: card 4111 1111 1111 1111 is invalid"),
		slog.Group("payment", "iban", "FR76 3000 6000 0112 3456 7890 189", "amount", 1250),
		"note", customerNote("NIR 1 85 05 78 006 084 91"),
		"order", "#123456",
		"took", 2*time.Second,
	)
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log line is not JSON: %v\n%s", err, buf.Bytes())
	}
	want := map[string]any{
		"level":    "INFO",
		"msg":      "reply to [EMAIL_1] failed",
		"customer": "[EMAIL_1]",
		"req": map[string]any{
			"text":    "call me on [PHONE_1]",
			"error":   "provider said: card [CARD_1] is invalid",
			"payment": map[string]any{"iban": "[IBAN_1]", "amount": float64(1250)},
			"note":    "NIR [NIR_1]",
			"order":   "#123456",
			"took":    float64(2 * time.Second),
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("log line\n got %v\nwant %v", got, want)
	}
}

func TestLogHandlerKeepsLevel(t *testing.T) {
	t.Parallel()
	h := NewLogHandler(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("the redacting handler does not follow the level of the handler it wraps")
	}
}

func BenchmarkLogHandler(b *testing.B) {
	log := slog.New(NewLogHandler(slog.NewTextHandler(&bytes.Buffer{}, nil)))
	for b.Loop() {
		log.Info("request failed", "error", errors.New("openai chat: unavailable"), "request_id", "host/abc-000123", "status", 503)
	}
}
