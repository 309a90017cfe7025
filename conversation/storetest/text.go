package storetest

import (
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/internal/testcheck"
)

// Texts with what conversation.CleanText drops or changes, and what every
// store must keep of them.
var dirtyTexts = []struct{ in, want string }{
	{"hello\x00world", "helloworld"},
	{"  line one\r\nline two\x1b[0m\x07 ", "line one\nline two[0m"},
	{"caf\xe9 \u0085ok", "caf\uFFFD ok"},
}

func testReceiveCleansText(t *testing.T, s conversation.Store) {
	for i, tt := range dirtyTexts {
		r := receive(t, s, inbound("alice", "", tt.in))
		if r.Message.Text != tt.want {
			t.Errorf("%d: Receive(%q) returned text %q, want %q", i, tt.in, r.Message.Text, tt.want)
		}
		ms := messages(t, s, r.Conversation.ID)
		if got := ms[len(ms)-1].Text; got != tt.want {
			t.Errorf("%d: Receive(%q) stored text %q, want %q", i, tt.in, got, tt.want)
		}
	}
}

func testReceiveRejectsText(t *testing.T, s conversation.Store) {
	c := start(t, s, "alice")
	for _, in := range []conversation.Inbound{
		inbound("alice", "", ""),
		inbound("alice", "", " \n\t"),
		inbound("alice", "", "\x00\x00 \x1b"),
		inbound("al\x00ice", "", "hello"),
		inbound("alice", "wamid\x00", "hello"),
	} {
		_, err := s.Receive(t.Context(), in)
		testcheck.WantErr(t, "Receive with text "+quote(in.Text)+" from "+quote(in.CustomerID)+" id "+quote(in.ChannelMessageID), err, relais.ErrInvalid)
	}
	if n := len(messages(t, s, c.ID)); n != 1 {
		t.Errorf("refused messages were stored: %d messages, want 1", n)
	}
}

func testAppendCleansText(t *testing.T, s conversation.Store) {
	c := moveTo(t, s, start(t, s, "alice").ID, conversation.Agent)
	for i, tt := range dirtyTexts {
		for _, m := range []conversation.Message{
			{ConversationID: c.ID, Role: conversation.HumanRole, AgentID: "ana", Text: tt.in},
			{ConversationID: c.ID, Role: conversation.System, Text: tt.in},
		} {
			got, err := s.AppendMessage(t.Context(), m)
			if err != nil {
				t.Fatalf("%d: AppendMessage(%s, %q): %v", i, m.Role, tt.in, err)
			}
			// Cleaned, not trimmed: only a person's text is (by
			// conversation.ValidateText, before the store).
			want := conversation.CleanText(tt.in)
			if got.Text != want {
				t.Errorf("%d: AppendMessage(%s, %q) returned %q, want %q", i, m.Role, tt.in, got.Text, want)
			}
			ms := messages(t, s, c.ID)
			if stored := ms[len(ms)-1].Text; stored != want {
				t.Errorf("%d: AppendMessage(%s, %q) stored %q, want %q", i, m.Role, tt.in, stored, want)
			}
		}
	}
}

func quote(s string) string { return "\"" + s + "\"" }
