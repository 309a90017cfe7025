package knowledge

// MaxQueryTerms bounds the words of a full-text query: a pasted e-mail
// thread must not become a thousand-word query; its first words carry the
// question.
//
// The full-text ranking itself is BM25 over every other word of the
// question, the same on both stores (internal/lexindex, in memory): the
// work is one pass over the postings of the question's words, a fraction
// of a millisecond at 100,000 chunks, so no word need be left out to bound
// it, as when the stores ranked in SQL.
const MaxQueryTerms = 32
