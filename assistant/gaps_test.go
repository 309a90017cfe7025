package assistant

import (
	"slices"
	"testing"

	"github.com/relais-ai/relais/conversation"
)

// TestGapReasonsAreTheAssistants: the conversation package names the
// reasons that make a handoff a knowledge gap, since it cannot import this
// one; they must be the assistant's own codes. And the one reply that is a
// gap, the request to rephrase, is the reply to a question.
func TestGapReasonsAreTheAssistants(t *testing.T) {
	t.Parallel()
	want := []string{ReasonLowConfidence, ReasonNoKnowledge, ReasonRepeatedFailure}
	if !slices.Equal(conversation.GapReasons, want) {
		t.Errorf("conversation.GapReasons = %q, want %q", conversation.GapReasons, want)
	}
	if !conversation.IsGap(string(Reply), "", IntentQuestion) || conversation.IsGap(string(Reply), "", IntentGreeting) {
		t.Error("conversation.IsGap does not tell a request to rephrase from smalltalk")
	}
	if conversation.IsGap(string(Answer), "", IntentQuestion) {
		t.Error("conversation.IsGap calls an answer a gap")
	}
}
