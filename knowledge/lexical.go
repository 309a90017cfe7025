package knowledge

// The full-text side of a search does bounded work on both stores, by the
// same rule. A question becomes a query over its words; ranking every chunk
// that holds any of them would score most of a large knowledge base for a
// question holding one common word (a five-word question matched 57% of
// 100,000 chunks), and cost grows with the base, not with the answer.
//
// So a store first counts, for each word, the chunks it matches, up to
// CommonTermChunks+1, and hands the counts to LexicalTerms, which chooses
// the words the ranking uses:
//   - the distinctive words, those matching at most CommonTermChunks chunks,
//     joined by OR: a chunk holding any of them is a candidate, and it is
//     ranked by them alone; the common words, which a ranking with term
//     rarity would weigh at little anyway, neither widen the candidates nor
//     reorder them;
//   - when every word is common, all of them joined by AND: a chunk holding
//     every word of "refund order" says more than one holding either.
//
// Words that match nothing are left out either way. A store then ranks at
// most MaxTextCandidates matching chunks (in its storage order, when more
// match), so one search reads at most that many postings whatever the size
// of the base. Below CommonTermChunks chunks no word is common and the
// ranking is the plain OR of every word.
const (
	// MaxQueryTerms bounds the words of a full-text query: a pasted e-mail
	// thread must not become a thousand-term query; its first words carry
	// the question.
	MaxQueryTerms = 32
	// CommonTermChunks is the number of chunks above which a word is
	// common. It is a count, not a share of the base, so a small base keeps
	// every word: 1% of a 100,000-chunk base, where the words of a support
	// vocabulary that match more are the ones every passage shares
	// ("order", "account", "please").
	CommonTermChunks = 1000
	// MaxTextCandidates bounds the chunks one full-text ranking scores.
	MaxTextCandidates = 10000
)

// LexicalTerms chooses the words of a full-text query from the number of
// chunks each matches (counted up to at least CommonTermChunks+1): the
// indexes of the words to use, in their order, and whether to join them
// with AND (every word common) rather than OR. No index means no full-text
// ranking.
func LexicalTerms(matches []int) (use []int, and bool) {
	var common []int
	for i, n := range matches {
		switch {
		case n <= 0:
		case n <= CommonTermChunks:
			use = append(use, i)
		default:
			common = append(common, i)
		}
	}
	if len(use) > 0 {
		return use, false
	}
	return common, len(common) > 1
}
