package assistant

import (
	"time"

	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/assistant/intent"
)

// Decision is what the assistant does with one customer message: the heart
// of Relais and of its evals.
type Decision struct {
	Action Action
	Text   string
	// Sources are the articles the answer rests on; Sources[0] is the cited
	// one. On a handoff they are the suggested articles for the agent.
	Sources    []Source
	Intent     string
	Topic      string // the sensitive topic, when Intent is IntentSensitive
	Language   string
	Confidence float64
	Reason     string // on Handoff: one of the Reason* constants
	// AskFeedback is set on an answer: the channel asks "did this help?",
	// and the next message is read as the reply to it.
	AskFeedback bool
	Trace       Trace
}

// Source is one article behind a decision.
type Source struct {
	ArticleID string  `json:"article_id"` // external id
	Title     string  `json:"title"`
	ChunkID   int64   `json:"chunk_id,omitempty"`
	Score     float64 `json:"score"`
}

// Trace records how a decision was reached, for analytics, evals and the
// agent who takes over.
type Trace struct {
	Intent     intent.Result `json:"intent"`
	Query      string        `json:"query,omitempty"` // the text searched, when it differs from the message
	Candidates []Candidate   `json:"candidates,omitempty"`
	Examples   []ExampleNote `json:"examples,omitempty"`
	Threshold  float64       `json:"threshold"`
	// Calibration says where the threshold came from: "calibrated" (with
	// its sample size), "pinned" (set by the operator) or "default" (too few
	// examples to estimate one).
	Calibration string `json:"calibration"`
	Generator   string `json:"generator,omitempty"` // model used, or why not
	// Generated is true when the answer's text was written by the model;
	// false for an extractive answer, including the fallback after a model
	// failed or cited nothing retrieved.
	Generated bool     `json:"generated,omitempty"`
	Notes     []string `json:"notes,omitempty"`
	Stages    []Stage  `json:"stages"`
}

// Candidate is an article considered for the answer, with its evidence, as
// the trace records it: the article model's.
type Candidate = articlemodel.Candidate

// ExampleNote is one of the nearest labelled examples.
type ExampleNote struct {
	Text      string  `json:"text"`
	ArticleID string  `json:"article_id"` // "" for a handoff example
	Score     float64 `json:"score"`
}

// Stage is the time one step of the pipeline took.
type Stage struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
}
