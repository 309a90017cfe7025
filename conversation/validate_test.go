package conversation

import (
	"errors"
	"math"
	"testing"

	"relais"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		err   error
		valid bool
	}{
		{"inbound", ValidateInbound(Inbound{Channel: "whatsapp", CustomerID: "alice"}), true},
		{"inbound without channel", ValidateInbound(Inbound{CustomerID: "alice"}), false},
		{"inbound without customer", ValidateInbound(Inbound{Channel: "whatsapp"}), false},

		{"assistant message", ValidateAppend(Message{Role: Assistant}), true},
		{"system message", ValidateAppend(Message{Role: System}), true},
		{"agent message", ValidateAppend(Message{Role: HumanRole, AgentID: "bob"}), true},
		{"agent message without agent", ValidateAppend(Message{Role: HumanRole}), false},
		{"assistant message with agent", ValidateAppend(Message{Role: Assistant, AgentID: "bob"}), false},
		{"system message with agent", ValidateAppend(Message{Role: System, AgentID: "bob"}), false},
		{"customer message", ValidateAppend(Message{Role: Customer}), false},
		{"unknown role", ValidateAppend(Message{Role: "robot"}), false},

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
