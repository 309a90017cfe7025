// Package articlemodeltest holds fakes of what the article model reads,
// for the tests of the model and of what decides with it.
package articlemodeltest

import (
	"context"

	"github.com/relais-ai/relais/knowledge"
)

// Examples serves a fixed list of examples, in the order given, as
// articlemodel.ExampleSource does: those after an id, a page at a time.
type Examples []knowledge.Example

// Examples returns up to limit examples whose ID is above afterID.
func (f Examples) Examples(_ context.Context, afterID int64, limit int) ([]knowledge.Example, error) {
	var out []knowledge.Example
	for _, e := range f {
		if e.ID > afterID && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// Searcher finds the same result for every query.
type Searcher struct{ Result knowledge.SearchResult }

// SearchVector returns the fixed result.
func (f Searcher) SearchVector(context.Context, string, []float32, knowledge.SearchOptions) (knowledge.SearchResult, error) {
	return f.Result, nil
}
