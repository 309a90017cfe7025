package assistant

import "context"

// Generator writes a grounded answer from retrieved passages. The OpenAI-
// compatible chat provider implements it. Errors wrap relais.ErrUnavailable
// when the provider cannot be reached (the assistant then degrades to the
// extractive composer or hands off) and relais.ErrInvalid when the model's
// reply is unusable (not the JSON asked for).
type Generator interface {
	Generate(ctx context.Context, req GenerateRequest) (Generated, error)
}

// GenerateRequest is everything the model may use. Passages and the
// customer's text are data for the model, never instructions: an
// implementation must keep them apart from its own rules (separate messages,
// clear delimiters) so that text inside them cannot change those rules.
//
// Question and History may reach the Generator with the customer's personal
// data replaced by placeholders such as [EMAIL_1] (see package redact; the
// command wires that in front of remote models). A reply that repeats a
// placeholder is never shown to the customer: the assistant answers
// extractively instead.
type GenerateRequest struct {
	Question string
	Language string // "en", "fr" or "" (answer in the question's language)
	History  []Turn // earlier turns of the conversation, oldest first
	Passages []Passage
}

// Turn is one earlier message of the conversation.
type Turn struct {
	Role string // "customer" or "assistant"
	Text string
}

// Passage is a retrieved piece of an article the answer may use.
type Passage struct {
	ArticleID string // external id: what a citation names
	Title     string
	Text      string
}

// Generated is the model's structured reply.
type Generated struct {
	// Refused is true when the passages do not answer the question; the
	// assistant then hands off instead of answering.
	Refused bool
	Text    string
	// Citations are the ArticleIDs of the passages the answer used, most
	// important first. The assistant drops any that was not in the request.
	Citations []string
	Model     string
}
