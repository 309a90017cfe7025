// Package storetest is the contract test suite for conversation.Store. Every
// store implementation runs it from its own tests:
//
//	func TestConversationStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) conversation.Store { return openEmptyStore(t) })
//	}
//
// Beyond what the conversation.Store doc comments say, the suite pins down the
// details two implementations could otherwise disagree on:
//   - Receive: an empty Channel or CustomerID, or one with a control
//     character, a CustomerID or ChannelMessageID over its limit
//     (conversation.ValidateInbound), is relais.ErrInvalid, as is a text that
//     conversation.ValidateText refuses; the text is stored as ValidateText
//     returns it (a NUL dropped, CRLF made LF, trimmed). A new
//     conversation starts with the bot and has no transitions. A
//     ConversationID must name a conversation of the same customer on the
//     same channel (relais.ErrNotFound otherwise, nothing stored). Channel
//     message ids are unique per channel; an empty one never deduplicates.
//     A duplicate returns the stored message and the conversation as it
//     stands, reopens nothing and changes nothing. A ChannelMessageID that
//     another customer's message carries is relais.ErrConflict. A reopen is
//     recorded as resolved -> bot by actor "customer". While the queue or an
//     agent owns the conversation the message is stored and nothing else
//     changes.
//   - Transition: the actor must not be empty; the only way into the agent
//     state is the actor "agent:<id>" (relais.ErrInvalid otherwise), and <id>
//     becomes AgentID. AgentID is "" in every other state: leaving the agent
//     state clears it. Entering the bot state (returned, withdrawn, reopened)
//     resets the bot's memory of earlier turns, AwaitingFeedback and
//     Failures, and keeps Language. A refused transition changes nothing and
//     records nothing. Times come from the store's clock (which each
//     store's own tests check, since the suite cannot set it).
//   - AppendMessage: Role customer (those come through Receive) or unknown,
//     an agent message without AgentID or another role with one, is
//     relais.ErrInvalid. Every text is stored through conversation.CleanText
//     (not trimmed). An assistant message is refused in every state but bot,
//     resolved included. A ChannelMessageID (an outbound message's id) that a
//     message of the channel already carries is relais.ErrConflict.
//   - Messages: a limit below 1 is relais.ErrInvalid. Messages, Transitions
//     and Decisions of an unknown conversation are relais.ErrNotFound; of a
//     known one with none, an empty list.
//   - SetBotMemory: negative failures are relais.ErrInvalid.
//   - RecordDecision: an empty Action, a NaN or infinite Confidence, or a
//     Trace that is not JSON is relais.ErrInvalid. MessageID 0 means none;
//     otherwise it must be a message of the same conversation
//     (relais.ErrNotFound, as is an unknown conversation). A Trace reads back
//     as equal JSON (PostgreSQL's jsonb normalises spacing and key order), an
//     empty one as nil; Sources keep their order, and no sources read back
//     empty.
//   - Receive, AppendMessage, Transition and SetBotMemory set the
//     conversation's UpdatedAt; a duplicate Receive and a refused call change
//     nothing. IDs and CreatedAt are the store's, whatever the caller set.
//
// Every subtest opens its own store, so the open function must return an
// empty store that nothing else uses; it should register its own cleanup.
package storetest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/relais-ai/relais/conversation"
)

// Run runs the contract suite against the stores open returns.
func Run(t *testing.T, open func(t *testing.T) conversation.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s conversation.Store)
	}{
		{"Receive/CreatesConversation", testReceiveCreates},
		{"Receive/AppendsToExisting", testReceiveAppends},
		{"Receive/SeparatesCustomersAndChannels", testReceiveSeparates},
		{"Receive/RejectsInvalid", testReceiveInvalid},
		{"Receive/CleansText", testReceiveCleansText},
		{"Receive/RejectsText", testReceiveRejectsText},
		{"Receive/ConversationID", testReceiveConversationID},
		{"Receive/ConversationIDOfAnotherCustomer", testReceiveOtherCustomersConversation},
		{"Receive/Deduplicates", testReceiveDeduplicates},
		{"Receive/DeduplicatesPerChannel", testReceiveDedupPerChannel},
		{"Receive/EmptyChannelMessageIDNeverDeduplicates", testReceiveEmptyID},
		{"Receive/DuplicateOfAnotherCustomer", testReceiveDuplicateOtherCustomer},
		{"Receive/DuplicateDoesNotReopen", testReceiveDuplicateNoReopen},
		{"Receive/ConcurrentDuplicates", testReceiveConcurrentDuplicates},
		{"Receive/ConcurrentFirstMessages", testReceiveConcurrentFirst},
		{"Receive/ReopensResolved", testReceiveReopens},
		{"Receive/ConcurrentReopen", testReceiveConcurrentReopen},
		{"Receive/KeepsPersonOwner", testReceiveKeepsOwner},
		{"Receive/RacesResolve", testReceiveRacesResolve},
		{"Transition/StateMachine", testTransitionStateMachine},
		{"Transition/ExpectsFrom", testTransitionExpectsFrom},
		{"Transition/NotFound", testTransitionNotFound},
		{"Transition/AgentID", testTransitionAgentID},
		{"Transition/RejectsActor", testTransitionActor},
		{"Transition/RecordsHistory", testTransitionHistory},
		{"Transition/ConcurrentClaims", testTransitionConcurrentClaims},
		{"Transition/ToBotResetsBotMemory", testTransitionResetsMemory},
		{"AppendMessage/AssistantOnlyWhileBotOwns", testAppendAssistant},
		{"AppendMessage/OtherRolesAlways", testAppendOtherRoles},
		{"AppendMessage/RoundTrip", testAppendRoundTrip},
		{"AppendMessage/RejectsInvalid", testAppendInvalid},
		{"AppendMessage/CleansText", testAppendCleansText},
		{"AppendMessage/ChannelMessageIDTaken", testAppendChannelMessageID},
		{"Messages/LastLimitOldestFirst", testMessagesLimit},
		{"Messages/RejectsLimit", testMessagesBadLimit},
		{"Conversation/NotFound", testConversationNotFound},
		{"SetBotMemory/WhileBotOwns", testBotMemory},
		{"SetBotMemory/RefusedOtherwise", testBotMemoryRefused},
		{"SetBotMemory/RejectsInvalid", testBotMemoryInvalid},
		{"RecordDecision/RoundTrip", testDecisionRoundTrip},
		{"RecordDecision/Empty", testDecisionEmpty},
		{"RecordDecision/RejectsInvalid", testDecisionInvalid},
		{"RecordDecision/MessageOfTheConversation", testDecisionMessage},
		{"Lists/UnknownConversation", testListsNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// Channels the suite uses.
const (
	whatsapp = "whatsapp"
	webchat  = "webchat"
)

func inbound(customer, channelMessageID, text string) conversation.Inbound {
	return conversation.Inbound{Channel: whatsapp, CustomerID: customer, ChannelMessageID: channelMessageID, Text: text}
}

func receive(t *testing.T, s conversation.Store, in conversation.Inbound) conversation.Received {
	t.Helper()
	r, err := s.Receive(t.Context(), in)
	if err != nil {
		t.Fatalf("Receive(%+v): %v", in, err)
	}
	return r
}

// start opens a conversation for customer with a first message and returns
// it.
func start(t *testing.T, s conversation.Store, customer string) conversation.Conversation {
	t.Helper()
	return receive(t, s, inbound(customer, "", "hello")).Conversation
}

func transition(t *testing.T, s conversation.Store, id int64, from, to conversation.State, actor string) conversation.Conversation {
	t.Helper()
	c, err := s.Transition(t.Context(), id, from, to, actor, "storetest")
	if err != nil {
		t.Fatalf("Transition(%d, %s -> %s, %q): %v", id, from, to, actor, err)
	}
	return c
}

// alice is the agent the suite's conversations go to.
const alice = "agent:alice"

// moveTo brings a new (bot) conversation to state, by the shortest allowed
// path.
func moveTo(t *testing.T, s conversation.Store, id int64, state conversation.State) conversation.Conversation {
	t.Helper()
	path := []struct {
		to    conversation.State
		actor string
	}{
		{conversation.Queued, "bot"},
		{conversation.Agent, alice},
		{conversation.Resolved, alice},
	}
	c := get(t, s, id)
	for _, step := range path {
		if c.State == state {
			break
		}
		c = transition(t, s, id, c.State, step.to, step.actor)
	}
	if c.State != state {
		t.Fatalf("moveTo(%s): conversation %d is %s", state, id, c.State)
	}
	return c
}

// states are all the states, in the order moveTo reaches them.
var states = []conversation.State{conversation.Bot, conversation.Queued, conversation.Agent, conversation.Resolved}

func get(t *testing.T, s conversation.Store, id int64) conversation.Conversation {
	t.Helper()
	c, err := s.Conversation(t.Context(), id)
	if err != nil {
		t.Fatalf("Conversation(%d): %v", id, err)
	}
	return c
}

func messages(t *testing.T, s conversation.Store, id int64) []conversation.Message {
	t.Helper()
	ms, err := s.Messages(t.Context(), id, 1000)
	if err != nil {
		t.Fatalf("Messages(%d): %v", id, err)
	}
	return ms
}

func transitions(t *testing.T, s conversation.Store, id int64) []conversation.Transition {
	t.Helper()
	ts, err := s.Transitions(t.Context(), id)
	if err != nil {
		t.Fatalf("Transitions(%d): %v", id, err)
	}
	return ts
}

// traceAsJSON makes testcheck.Diff compare two decision traces as JSON
// values: a store may give the same JSON back spaced or ordered otherwise.
// An empty trace equals a nil one (testcheck.Diff's EquateEmpty) and no
// other.
var traceAsJSON = cmp.FilterPath(func(p cmp.Path) bool {
	f, ok := p.Last().(cmp.StructField)
	return ok && f.Name() == "Trace"
}, cmp.FilterValues(func(a, b []byte) bool { return len(a) > 0 && len(b) > 0 }, cmp.Comparer(jsonEqual)))

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
