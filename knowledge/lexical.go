package knowledge

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// The full-text side of a search does bounded work on both stores, by the
// same rule. A question becomes a query over its words; ranking every chunk
// that holds any of them would score most of a large knowledge base for a
// question holding one common word (a five-word question matched 57% of
// 100,000 chunks), and the cost would grow with the base, not with the
// answer.
//
// So a store first counts, for each word, the chunks it matches, up to
// CommonTermChunks+1, and hands the counts to LexicalTerms, which chooses
// the words that select the candidates:
//   - the distinctive words, those matching at most CommonTermChunks chunks,
//     joined by OR: a chunk holding any of them is a candidate. They are
//     taken rarest first while the chunks they match add up to no more
//     than MaxTextCandidates (the rarest always): the rarer a word, the
//     more it says of the question, and several words of middling
//     frequency would otherwise bring in more candidates than a ranking
//     reads, cut in storage order;
//   - when every word is common, all of them joined by AND: a chunk holding
//     every word of "refund order" says more than one holding either.
//
// The candidates are then ranked by every word of the question, common ones
// included, as an unbounded search would rank them; words that match
// nothing are left out. A store ranks at most MaxTextCandidates chunks (the
// first in its storage order, when more match), so one search reads at most
// that many rows whatever the size of the base. Below CommonTermChunks
// chunks no word is common, and the search is the plain OR of every word
// unless their matches add up to more than MaxTextCandidates.
//
// What it costs: a passage holding only common words of the question is no
// longer found when a rarer word is there too. On 100,000 generated chunks
// (BenchmarkTextSearch, a quiet 2-core machine), the bounded ranking found
// the answer in its top 10 for 85 questions of 100 against 88 for the
// unbounded one on SQLite (96% of its top 10 kept), p50/p95 4.4/8.9 ms
// against 10.4/29.4; on PostgreSQL 63 against 61, 6.4/12.8 ms against
// 13.1/30.6. With 10,000 candidates and no rarest-first choice it had been
// 86 and 62 questions, at p95 14 and 33 ms; 3,000 candidates without the
// rarest-first choice found 83 and 59. A threshold of 1,000 common chunks
// kept 92% (81 answers), one of 10,000 99% (88) for little gain in time.
const (
	// MaxQueryTerms bounds the words of a full-text query: a pasted e-mail
	// thread must not become a thousand-term query; its first words carry
	// the question.
	MaxQueryTerms = 32
	// CommonTermChunks is the number of chunks above which a word is
	// common. It is a count, not a share of the base, so a small base keeps
	// every word: 3% of a 100,000-chunk base, where the words of a support
	// vocabulary that match more are the ones most passages share ("order",
	// "account", "please").
	CommonTermChunks = 3000
	// MaxTextCandidates bounds the chunks one full-text ranking scores (the
	// first in storage order when more match). The slowest searches on
	// PostgreSQL at 100k chunks were questions of one common word and words
	// that match nothing ("human please"): 10,000 matches of "please"
	// ranked in about 60 ms, for a ranking that says little either way. At
	// 3,000 they take about a third of that; a knowledge base under 3,000
	// chunks ranks every match, as before.
	MaxTextCandidates = 3000
)

// LexicalTerms chooses the words of a full-text query from the number of
// chunks each matches (counted up to at least CommonTermChunks+1): the
// indexes of the words to use, in their order, and whether to join them
// with AND (every word common) rather than OR. No index means no full-text
// ranking.
func LexicalTerms(matches []int) (use []int, and bool) {
	var distinctive, common []int
	for i, n := range matches {
		switch {
		case n <= 0:
		case n <= CommonTermChunks:
			distinctive = append(distinctive, i)
		default:
			common = append(common, i)
		}
	}
	if len(distinctive) == 0 {
		return common, len(common) > 1
	}
	// Rarest first; a tie keeps the question's order.
	slices.SortStableFunc(distinctive, func(a, b int) int { return cmp.Compare(matches[a], matches[b]) })
	total := 0
	for k, i := range distinctive {
		if k > 0 && total+matches[i] > MaxTextCandidates {
			break
		}
		total += matches[i]
		use = append(use, i)
	}
	slices.Sort(use)
	return use, false
}

// TermCountTTL is how long a store may reuse a word's count of matching
// chunks. Counting costs a search of its own for each word, which reads
// CommonTermChunks+1 rows for a common one; customers' questions share
// their common words, and the counts move only with imports, by amounts
// that rarely carry a word across CommonTermChunks.
const TermCountTTL = time.Minute

// TermCounts remembers words' counts of matching chunks for TermCountTTL,
// for LexicalTerms. It is safe for concurrent use.
type TermCounts struct {
	mu     sync.Mutex
	counts map[string]termCount
	now    func() time.Time
}

type termCount struct {
	n  int
	at time.Time
}

// maxTermCounts bounds the words remembered; past it, they are forgotten
// at once (a minute's worth of questions is far fewer words).
const maxTermCounts = 100_000

// Get returns the remembered count of key, if it is younger than
// TermCountTTL.
func (c *TermCounts) Get(key string) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tc, ok := c.counts[key]
	if !ok || c.clock().Sub(tc.at) >= TermCountTTL {
		return 0, false
	}
	return tc.n, true
}

// Put remembers the count of key.
func (c *TermCounts) Put(key string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil || len(c.counts) >= maxTermCounts {
		c.counts = make(map[string]termCount)
	}
	c.counts[key] = termCount{n: n, at: c.clock()}
}

func (c *TermCounts) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}
