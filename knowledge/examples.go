package knowledge

import (
	"context"
	"time"
)

// HandoffLabel is the ArticleID of an example that needed a person: the
// assistant must not answer messages like it.
const HandoffLabel = ""

// Example is a labelled customer phrasing from history (DESIGN.md section
// 7): a question and the article that resolved it, or a question that had to
// reach a human (ArticleID == HandoffLabel).
type Example struct {
	ID        int64
	Text      string
	ArticleID string // external id of the article; HandoffLabel for a handoff
	Source    string // where it came from: a file, "console", "draft:<id>"
	Language  string
	Embedding []float32
	CreatedAt time.Time
}

// ExampleMatch is one example in one ranking.
type ExampleMatch struct {
	ExampleID int64
	ArticleID string // the example's label
	Text      string
	Score     float64 // cosine similarity (vector list) or full-text rank (text list)
}

// ExampleStore keeps examples and the calibration learnt from them. The
// contract tests in knowledge/storetest hold every implementation to it.
type ExampleStore interface {
	// SaveExamples stores examples with their embeddings (which must match
	// the embedding space: relais.ErrInvalid otherwise). An example whose
	// source, label and text (trimmed) are already stored is skipped. It
	// returns how many were new.
	SaveExamples(ctx context.Context, examples []Example) (int, error)
	// DeleteExamples removes every example of a source and returns how many.
	DeleteExamples(ctx context.Context, source string) (int, error)
	// Examples returns up to limit examples with id > afterID, by id, with
	// their embeddings: calibration reads them all in pages.
	Examples(ctx context.Context, afterID int64, limit int) ([]Example, error)
	// CountExamples counts stored examples.
	CountExamples(ctx context.Context) (int, error)
	// ExamplesMissingEmbedding and SetExampleEmbeddings re-embed examples
	// after ResetEmbeddingSpace, as ChunksMissingEmbedding does for chunks.
	ExamplesMissingEmbedding(ctx context.Context, limit int) ([]Example, error)
	SetExampleEmbeddings(ctx context.Context, examples []Example) error

	// SaveCalibration stores a calibration; it becomes the current one.
	SaveCalibration(ctx context.Context, c Calibration) error
	// Calibration returns the current calibration; relais.ErrNotFound if none.
	Calibration(ctx context.Context) (Calibration, error)
}

// Calibration is the confidence threshold Relais estimated for itself from
// its examples (DESIGN.md section 8), with the evidence behind it.
type Calibration struct {
	// Threshold is the confidence an answer needs.
	Threshold float64
	// MaxWrongRate is the target the threshold was chosen for.
	MaxWrongRate float64
	// Samples is how many examples the estimate used; Examples the count
	// of stored examples then (a later import makes it stale).
	Samples  int
	Examples int
	// EstimatedResolution and EstimatedWrongRate are the cross-validated
	// rates at Threshold.
	EstimatedResolution float64
	EstimatedWrongRate  float64
	// Model holds the parameters of the confidence model fitted with it,
	// by name; the assistant defines them.
	Model map[string]float64
	// Classifier is the assistant's classifier trained with it, encoded by
	// the assistant; the store keeps the bytes as they are.
	Classifier     []byte
	Method         string
	EmbeddingModel string
	CreatedAt      time.Time
}
