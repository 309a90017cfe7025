// Package benchcorpus generates text for benchmarks and index tests whose
// words are distributed as in real text: a few words (the, order, card) in
// almost every passage, most words rare. A uniform vocabulary makes every
// word rare, and hides the cost of ranking the thousands of passages that
// share a common word with a question.
//
// The vocabulary is the frequent words of customer support in English,
// most frequent first, followed by generated words; each word's frequency
// follows Zipf's law over that order. The same seed gives the same text.
package benchcorpus

import (
	"math/rand/v2"
	"strings"
)

// head is the start of the vocabulary, roughly in the order of frequency of
// customer-support text; stop words among them, as in real questions.
const head = `the to and a of i my is you for in it your on can be with this have do
	not that at we are how if order will me what from or card account an as
	by was please our payment get when refund no there delivery all would need
	help so time just one any which us more has out been up about after new
	change item days did number policy why return where email cancel still
	make should could back service check use want know phone address claim
	find online store made here code app information charge before cost date
	price insurance also fee contact transfer paid received send first only
	receive call customer day week money then they like product cover other
	package problem shipping some tracking sent buy available size help login
	password issue set update bank cash mail free two same time possible
	working show month year open hours car home travel damage water fire theft
	contract premium renewal invoice receipt exchange warranty discount voucher
	subscription member points balance statement limit pin lost stolen blocked
	declined pending verify identity document photo upload form deadline`

// Size is the number of distinct words a Corpus draws from.
const Size = 20_000

// Corpus draws words; it is not safe for concurrent use.
type Corpus struct {
	r     *rand.Rand
	zipf  *rand.Zipf
	vocab []string
}

// New returns a corpus whose draws depend only on seed.
func New(seed uint64) *Corpus {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	vocab := strings.Fields(head)
	syl := strings.Fields(`ba be bi bo bu ca ce co cu da de di do du fa fe fi fo ga ge go gu
		la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru
		sa se si so su ta te ti to tu va ve vi vo za ze zi zo`)
	// Generated words from a fixed sequence, independent of seed, so that
	// two corpora share a vocabulary: 2 to 4 syllables and a final letter.
	g := rand.New(rand.NewPCG(1, 1))
	seen := make(map[string]bool, Size)
	for _, w := range vocab {
		seen[w] = true
	}
	for len(vocab) < Size {
		var b strings.Builder
		for range 2 + g.IntN(3) {
			b.WriteString(syl[g.IntN(len(syl))])
		}
		b.WriteByte("nrstlx"[g.IntN(6)])
		if w := b.String(); !seen[w] {
			seen[w] = true
			vocab = append(vocab, w)
		}
	}
	return &Corpus{r: r, zipf: rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1)), vocab: vocab}
}

// Word returns one word.
func (c *Corpus) Word() string { return c.vocab[c.zipf.Uint64()] }

// Words returns n words joined by spaces.
func (c *Corpus) Words(n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = c.Word()
	}
	return strings.Join(ws, " ")
}

// Sentence returns a sentence of min to max words, capitalised, with a full
// stop.
func (c *Corpus) Sentence(min, max int) string {
	s := c.Words(min + c.r.IntN(max-min+1))
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// Passage returns sentences sentences of 8 to 20 words.
func (c *Corpus) Passage(sentences int) string {
	ss := make([]string, sentences)
	for i := range ss {
		ss[i] = c.Sentence(8, 20)
	}
	return strings.Join(ss, " ")
}

// Excerpt returns about n consecutive words of text, from a random place:
// a question in the words of the passage that answers it.
func (c *Corpus) Excerpt(text string, n int) string {
	ws := strings.Fields(text)
	if len(ws) <= n {
		return text
	}
	i := c.r.IntN(len(ws) - n + 1)
	return strings.Join(ws[i:i+n], " ")
}

// IntN is a draw from the corpus's source, for callers that vary their
// own choices with the same seed.
func (c *Corpus) IntN(n int) int { return c.r.IntN(n) }
