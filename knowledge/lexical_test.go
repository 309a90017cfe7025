package knowledge

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestLexicalTerms(t *testing.T) {
	t.Parallel()
	const c = CommonTermChunks + 1
	tests := []struct {
		name    string
		matches []int
		use     []int
		and     bool
	}{
		{"no word", nil, nil, false},
		{"rare words, OR", []int{3, 1, 20}, []int{0, 1, 2}, false},
		{"rarest first, within MaxTextCandidates", []int{2000, 900, 1500, 100}, []int{1, 2, 3}, false},
		{"the rarest always", []int{CommonTermChunks, CommonTermChunks - 1}, []int{1}, false},
		{"ties in the question's order", []int{1500, 1500, 1500}, []int{0, 1}, false},
		{"common words leave", []int{c, 5, c, 2}, []int{1, 3}, false},
		{"words matching nothing leave", []int{0, 4, 0}, []int{1}, false},
		{"every word common, AND", []int{c, c, 0}, []int{0, 1}, true},
		{"one common word", []int{0, c}, []int{1}, false},
		{"nothing matches", []int{0, 0}, nil, false},
	}
	for _, tt := range tests {
		use, and := LexicalTerms(tt.matches)
		if !slices.Equal(use, tt.use) || and != tt.and {
			t.Errorf("%s: LexicalTerms(%v) = %v, %v; want %v, %v", tt.name, tt.matches, use, and, tt.use, tt.and)
		}
	}
}

func TestTermCounts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &TermCounts{now: func() time.Time { return now }}
	if _, ok := c.Get("refund"); ok {
		t.Fatal("an empty cache knows refund")
	}
	c.Put("refund", 42)
	if n, ok := c.Get("refund"); !ok || n != 42 {
		t.Errorf("Get(refund) = %d, %v; want 42, true", n, ok)
	}
	now = now.Add(TermCountTTL - time.Second)
	if _, ok := c.Get("refund"); !ok {
		t.Error("a count younger than TermCountTTL is forgotten")
	}
	now = now.Add(time.Second)
	if _, ok := c.Get("refund"); ok {
		t.Error("a count TermCountTTL old is still used")
	}
	for i := range maxTermCounts + 1 {
		c.Put(fmt.Sprint(i), i)
	}
	if len(c.counts) > maxTermCounts {
		t.Errorf("%d counts remembered, want at most %d", len(c.counts), maxTermCounts)
	}
}
