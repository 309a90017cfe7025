package articlemodel

import (
	"testing"

	"github.com/relais-ai/relais/knowledge"
)

func hit(id, title, body string, sim float64, textRank int) knowledge.Hit {
	return knowledge.Hit{
		Article:     knowledge.Article{ID: int64(len(id)), ExternalID: id, Title: title, Body: body},
		Passage:     knowledge.Chunk{ID: 7, Kind: knowledge.Question, Text: title},
		VectorScore: sim, VectorRank: 1, TextRank: textRank, Score: 0.03,
	}
}

const cancelBody = "Open your order details and press Cancel order."

func TestExamplesVoteAndHandoffExamples(t *testing.T) {
	t.Parallel()
	hits := []knowledge.Hit{hit("kb:cancel", "Cancel order", cancelBody, 0.5, 1), hit("kb:fees", "Fees", "No fee.", 0.45, 2)}
	// Four close examples say cancel, one slightly closer says fees.
	votes := []knowledge.ExampleMatch{
		{ArticleID: "kb:fees", Score: 0.93}, {ArticleID: "kb:cancel", Score: 0.92}, {ArticleID: "kb:cancel", Score: 0.91},
		{ArticleID: "kb:cancel", Score: 0.9}, {ArticleID: "kb:cancel", Score: 0.9},
	}
	ev := gatherEvidence(knowledge.SearchResult{Hits: hits, Examples: votes}, nil)
	if ev.candidates[0].ArticleID != "kb:cancel" {
		t.Errorf("vote ignored: best candidate %s", ev.candidates[0].ArticleID)
	}
	// Handoff examples pull the confidence down.
	handoffs := []knowledge.ExampleMatch{
		{ArticleID: knowledge.HandoffLabel, Score: 0.95}, {ArticleID: knowledge.HandoffLabel, Score: 0.94},
		{ArticleID: "kb:cancel", Score: 0.9}, {ArticleID: knowledge.HandoffLabel, Score: 0.9}, {ArticleID: knowledge.HandoffLabel, Score: 0.9},
	}
	withVotes := gatherEvidence(knowledge.SearchResult{Hits: hits, Examples: votes}, nil).heuristicConfidence()
	withHandoffs := gatherEvidence(knowledge.SearchResult{Hits: hits, Examples: handoffs}, nil).heuristicConfidence()
	if withHandoffs >= withVotes {
		t.Errorf("handoff examples did not lower confidence: %.3f vs %.3f", withHandoffs, withVotes)
	}
}

// TestClassifierBestArticleAlwaysCandidate: however unlikely, the
// classifier's best article heads the candidates, whatever retrieval found.
func TestClassifierBestArticleAlwaysCandidate(t *testing.T) {
	t.Parallel()
	res := knowledge.SearchResult{Hits: []knowledge.Hit{hit("kb:fees", "Fees", "No fee.", 0.9, 1)}}
	class := map[string]float64{knowledge.HandoffLabel: 0.97, "kb:cancel": 0.02, "kb:fees": 0.01}
	ev := gatherEvidence(res, class)
	if len(ev.candidates) != 2 || ev.candidates[0].ArticleID != "kb:cancel" || ev.candidates[0].ClassProb != 0.02 {
		t.Errorf("candidates %+v, want kb:cancel first at 0.02, then kb:fees", ev.candidates)
	}
}

func TestFitLogisticSeparates(t *testing.T) {
	t.Parallel()
	var xs [][]float64
	var ys []bool
	for i := 0; i < 200; i++ {
		f := make([]float64, len(featureNames))
		f[0] = float64(i) / 200
		xs = append(xs, f)
		ys = append(ys, i >= 100)
	}
	m := fitLogistic(xs, ys, 1e-3)
	if lo, hi := m.Predict(xs[20]), m.Predict(xs[180]); lo > 0.2 || hi < 0.8 {
		t.Errorf("predictions %.3f / %.3f do not separate", lo, hi)
	}
}
