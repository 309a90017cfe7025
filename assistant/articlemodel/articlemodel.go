// Package articlemodel owns the article model: the model that tells which
// knowledge-base article answers a customer's message (a classifier over
// the articles, with the retrieval evidence), how confident that is, and
// the calibration of the threshold that keeps wrong answers under the
// target. The assistant package decides with it; it knows nothing of the
// assistant.
package articlemodel

import (
	"math"
	"slices"

	"github.com/relais-ai/relais/knowledge"
)

// Model is the article model of a calibration, decoded: the confidence
// model, and the classifier it weighs when the calibration has one. A nil
// *Model is no calibration: the evidence is retrieval's alone, and the
// confidence heuristic.
type Model struct {
	confidence LogisticModel
	classifier *Classifier // nil: every example had the same label
}

// Decode prepares a stored calibration's model for use. It returns nil, and
// no error, when the calibration has no model this version can use (one
// made by an older version). Its model and classifier go together: the
// model weighs the classifier's outputs, so a model whose classifier cannot
// be read is no model at all, and Decode fails (relais.ErrInvalid). A
// calibration without a classifier (every example had the same label) was
// fitted without one and stands as it is.
func Decode(c knowledge.Calibration) (*Model, error) {
	model := modelFrom(c.Model)
	if model == nil || c.Method != CalibrationMethod {
		return nil, nil
	}
	if len(c.Classifier) == 0 {
		return &Model{confidence: *model}, nil // one label only: the model was fitted without a classifier
	}
	var clf Classifier
	if err := clf.UnmarshalBinary(c.Classifier); err != nil {
		return nil, err
	}
	return &Model{confidence: *model, classifier: &clf}, nil
}

// Evidence gathers what the search result res and the classifier, when
// there is one, say about the message text in the customer's language
// lang: the candidate articles, re-ranked for that language.
func (m *Model) Evidence(res knowledge.SearchResult, text, lang string) Evidence {
	var classifier *Classifier
	if m != nil {
		classifier = m.classifier
	}
	return rankedEvidence(res, classifier.Predict(text), lang)
}

// Confidence is the probability that answering with ev's best candidate is
// right: the classifier's for its best article when one was calibrated, the
// confidence model's when only that was, the heuristic score otherwise (a
// nil model), which is comparable with the default threshold only.
func (m *Model) Confidence(ev Evidence) float64 {
	c := 0.0 // no candidate: nothing to be confident in
	if ev.hasClass && m != nil {
		if len(ev.candidates) > 0 {
			c = ev.candidates[0].ClassProb
		}
	} else if m == nil {
		c = ev.heuristicConfidence()
	} else if f := ev.features(); f != nil {
		c = m.confidence.Predict(f)
	}
	if math.IsNaN(c) {
		return 0 // evidence that is no evidence: never confident
	}
	return c
}

// FeatureNames returns the names of the confidence model's features, in the
// order of a LogisticModel's weights.
func FeatureNames() []string { return slices.Clone(featureNames) }
