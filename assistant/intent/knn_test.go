package intent

import (
	"math"
	"testing"

	"github.com/relais-ai/relais/language"
)

// TestSimilaritiesRepeatExactly: the same message gets the same scores to
// the last bit however often it is asked, so that a near tie between two
// intents always falls the same way. Summed in a Go map's order, a
// message of many features changes its last bits from one call to the
// next.
func TestSimilaritiesRepeatExactly(t *testing.T) {
	t.Parallel()
	ix := newExampleIndex(DefaultExamples())
	words := language.Words("hello I would like to speak with a real person about the refund of my cancelled order please")
	first := ix.similarities(words, "en")
	for range 50 {
		again := ix.similarities(words, "en")
		for i := range first {
			if math.Float64bits(again[i]) != math.Float64bits(first[i]) {
				t.Fatalf("example %d: similarity %v, then %v for the same message", i, first[i], again[i])
			}
		}
	}
}
