package conversation

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/relais-ai/relais"
)

// errOf drops the value of a (value, error) pair.
func errOf[T any](_ T, err error) error { return err }

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		err   error
		valid bool
	}{
		{"inbound", errOf(ValidateInbound(Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "hi"})), true},
		{"inbound without channel", errOf(ValidateInbound(Inbound{CustomerID: "alice", Text: "hi"})), false},
		{"inbound without customer", errOf(ValidateInbound(Inbound{Channel: "whatsapp", Text: "hi"})), false},
		{"inbound without text", errOf(ValidateInbound(Inbound{Channel: "whatsapp", CustomerID: "alice"})), false},
		{"inbound of only control characters", errOf(ValidateInbound(Inbound{Channel: "whatsapp", CustomerID: "alice", Text: "\x00\x07 "})), false},
		{"inbound with a NUL in the customer id", errOf(ValidateInbound(Inbound{Channel: "whatsapp", CustomerID: "al\x00ice", Text: "hi"})), false},
		{"inbound with a NUL in the message id", errOf(ValidateInbound(Inbound{Channel: "whatsapp", CustomerID: "alice", ChannelMessageID: "w\x00", Text: "hi"})), false},

		{"assistant message", errOf(ValidateAppend(Message{Role: Assistant})), true},
		{"system message", errOf(ValidateAppend(Message{Role: System})), true},
		{"agent message", errOf(ValidateAppend(Message{Role: HumanRole, AgentID: "bob"})), true},
		{"agent message without agent", errOf(ValidateAppend(Message{Role: HumanRole})), false},
		{"assistant message with agent", errOf(ValidateAppend(Message{Role: Assistant, AgentID: "bob"})), false},
		{"system message with agent", errOf(ValidateAppend(Message{Role: System, AgentID: "bob"})), false},
		{"customer message", errOf(ValidateAppend(Message{Role: Customer})), false},
		{"unknown role", errOf(ValidateAppend(Message{Role: "robot"})), false},

		{"decision", ValidateDecision(DecisionRecord{Action: "answer", Confidence: 0.7, Trace: []byte(`{"a":1}`)}), true},
		{"decision without trace", ValidateDecision(DecisionRecord{Action: "answer"}), true},
		{"decision without action", ValidateDecision(DecisionRecord{}), false},
		{"decision with NaN confidence", ValidateDecision(DecisionRecord{Action: "answer", Confidence: math.NaN()}), false},
		{"decision with infinite confidence", ValidateDecision(DecisionRecord{Action: "answer", Confidence: math.Inf(-1)}), false},
		{"decision with broken trace", ValidateDecision(DecisionRecord{Action: "answer", Trace: []byte(`{"a":`)}), false},
	}
	for _, tt := range tests {
		if tt.valid && tt.err != nil {
			t.Errorf("%s: %v, want no error", tt.name, tt.err)
		}
		if !tt.valid && !errors.Is(tt.err, relais.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, tt.err)
		}
	}
}

func TestAgentAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		to        State
		actor     string
		wantAgent string
		wantErr   bool
	}{
		{Agent, "agent:bob", "bob", false},
		{Queued, "bot", "", false},
		{Bot, "agent:bob", "", false}, // only entering Agent sets an agent
		{Resolved, "agent:bob", "", false},
		{Queued, "", "", true},
		{Agent, "bob", "", true},
		{Agent, "agent:", "", true},
		{Agent, "system", "", true},
	}
	for _, tt := range tests {
		got, err := AgentAfter(tt.to, tt.actor)
		if tt.wantErr {
			if !errors.Is(err, relais.ErrInvalid) {
				t.Errorf("AgentAfter(%s, %q) error = %v, want ErrInvalid", tt.to, tt.actor, err)
			}
			continue
		}
		if err != nil || got != tt.wantAgent {
			t.Errorf("AgentAfter(%s, %q) = %q, %v; want %q", tt.to, tt.actor, got, err, tt.wantAgent)
		}
	}
}

func TestCleanText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"hello\x00world", "helloworld"},
		{"\x00\x01\x07\x1b[31mred", "[31mred"},
		{"tab\tand\nnewline", "tab\tand\nnewline"},
		{"crlf\r\nline", "crlf\nline"},
		{"lone\rcr", "lone\ncr"},
		{"two\r\r\nbreaks", "two\n\nbreaks"},
		{"del\x7f c1\u0085\u009f end", "del c1 end"},
		{"caf\xe9 au lait", "caf\uFFFD au lait"},
		{"bad \xff\xfe run", "bad \uFFFD run"},
		{"Voici « la réponse » 🚚 👩‍👩‍👧", "Voici « la réponse » 🚚 👩‍👩‍👧"},
		{"rtl \u200fمرحبا", "rtl \u200fمرحبا"},
		{"  spaces kept  ", "  spaces kept  "},
	}
	for _, tt := range tests {
		got := CleanText(tt.in)
		if got != tt.want {
			t.Errorf("CleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := CleanText(got); again != got {
			t.Errorf("CleanText(CleanText(%q)) = %q, want %q", tt.in, again, got)
		}
	}
}

func TestValidateText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxTextChars)
	tests := []struct {
		in, want string
		valid    bool
	}{
		{" hello\x00 world \r\n", "hello world", true},
		{long, long, true},
		{" " + long + "\x00 ", long, true},
		{long + "x", "", false},
		{"", "", false},
		{" \t\n", "", false},
		{"\x00\x00\x1b", "", false},
		{"\x00 \x00", "", false},
	}
	for _, tt := range tests {
		got, err := ValidateText(tt.in)
		switch {
		case tt.valid && (err != nil || got != tt.want):
			t.Errorf("ValidateText(%.20q) = %.20q, %v; want %.20q", tt.in, got, err, tt.want)
		case !tt.valid && !errors.Is(err, relais.ErrInvalid):
			t.Errorf("ValidateText(%.20q) error = %v, want ErrInvalid", tt.in, err)
		}
	}
}

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"hello\x00", "a\r\nb\rc", "caf\xe9", "\u0085\x7f", "🚚"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := CleanText(s)
		if !utf8.ValidString(got) {
			t.Fatalf("CleanText(%q) = %q: not UTF-8", s, got)
		}
		if strings.ContainsAny(got, "\x00\r") || strings.IndexFunc(got, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' }) >= 0 {
			t.Fatalf("CleanText(%q) = %q: holds a control character", s, got)
		}
		if CleanText(got) != got {
			t.Fatalf("CleanText is not idempotent on %q", s)
		}
	})
}
