// Package assistant turns a customer's message into a Decision: an answer
// that cites its source, a short reply (greeting, thanks, feedback), or a
// handoff to a person with a reason code. A wrong answer costs more than a
// handoff, so every answer passes a calibrated confidence gate, and some
// topics always go to a person whatever the score.
package assistant

import "github.com/relais-ai/relais/assistant/intent"

// Action is what the assistant decided to do with a message.
type Action string

// Actions.
const (
	Answer  Action = "answer"  // an answer from the knowledge base, citing Sources[0]
	Reply   Action = "reply"   // smalltalk or feedback acknowledgement
	Handoff Action = "handoff" // a person takes over; Reason says why
)

// Handoff reasons. They are stable: dashboards and evals count them.
const (
	ReasonCustomerRequest     = "customer_request"
	ReasonSensitiveTopic      = "sensitive_topic"
	ReasonLowConfidence       = "low_confidence"
	ReasonNoKnowledge         = "no_knowledge"
	ReasonNegativeFeedback    = "negative_feedback"
	ReasonRepeatedFailure     = "repeated_failure"
	ReasonProviderUnavailable = "provider_unavailable"
	ReasonAgentOwned          = "agent_owned"
)

// Intents the assistant recognises: the intent package's, under the names
// the Decision's users know.
const (
	IntentGreeting     = intent.Greeting
	IntentThanks       = intent.Thanks
	IntentGoodbye      = intent.Goodbye
	IntentHumanRequest = intent.HumanRequest
	IntentSensitive    = intent.Sensitive
	IntentFeedbackYes  = intent.FeedbackYes
	IntentFeedbackNo   = intent.FeedbackNo
	IntentQuestion     = intent.Question
)

// Handoff reasons of channel adapters, beyond the assistant's own.
const (
	// ReasonMediaReceived: the customer sent a photo or a document, which
	// a person looks at.
	ReasonMediaReceived = "media_received"
	// ReasonUnsupportedMessage: the customer sent what Relais cannot read
	// (a voice note, a location, ...) and the channel hands such messages
	// off rather than asking for text.
	ReasonUnsupportedMessage = "unsupported_message"
)
