package intent

import (
	"sort"
	"strings"

	"github.com/relais-ai/relais/language"
)

// phraseSet recognises messages made only of smalltalk or feedback phrases
// ("thanks a lot, bye", "oui merci"), and a greeting at the start of a longer
// message. Smalltalk is decided on the whole message, never on a part of it:
// "hi, how do I cancel my order?" contains a greeting but is a question, and
// answering it with "hello!" would drop the question.
type phraseSet struct {
	lex     *lexicon
	phrases []phrase
	byFirst map[int32][]int // phrase indexes by the id of their first word, longest first
	filler  bitset          // words that may surround phrases ("thanks so much for your help")
	address bitset          // words that may follow a greeting ("hi there team")
}

type phrase struct {
	ids    []int32
	intent string
	text   string
}

// Filler and address words are part of the method rather than of the
// examples file: an operator lists phrases, and should not have to list
// every "so", "very" and "everyone" that can pad them.
const (
	phraseFillers = `please pls plz so very much a lot lots again all everyone everybody there
guys folks team mate friend buddy sir madam you your for the and really just ever now
help assistance answer info information x xx
beaucoup bien a vous tous tout le monde et encore madame monsieur mme svp stp pour
votre ton aide equipe toi infos information reponse vraiment`
	addressWords = `there all everyone everybody team guys folks mate friend buddy sir madam
tout le monde equipe madame monsieur mme a vous tous toi`
)

func newPhraseSet(examples []Example) *phraseSet {
	ps := &phraseSet{lex: newLexicon(), byFirst: map[int32][]int{}}
	for _, ex := range examples {
		switch ex.Intent {
		case Greeting, Thanks, Goodbye, FeedbackYes, FeedbackNo:
		default:
			continue
		}
		p := phrase{intent: ex.Intent, text: ex.Text}
		norm, _ := phraseWords(language.Words(ex.Text))
		for _, w := range norm {
			if len(w) >= minTypoWord+1 {
				w += "~"
			}
			p.ids = append(p.ids, ps.lex.add(w))
		}
		ps.phrases = append(ps.phrases, p)
	}
	fillerIDs := addAll(ps.lex, phraseFillers)
	addressIDs := addAll(ps.lex, addressWords)
	ps.filler, ps.address = newBitset(ps.lex.size), newBitset(ps.lex.size)
	for _, id := range fillerIDs {
		ps.filler.set(id)
	}
	for _, id := range addressIDs {
		ps.address.set(id)
	}
	for i, p := range ps.phrases {
		ps.byFirst[p.ids[0]] = append(ps.byFirst[p.ids[0]], i)
	}
	for _, idx := range ps.byFirst {
		sort.SliceStable(idx, func(a, b int) bool {
			return len(ps.phrases[idx[a]].ids) > len(ps.phrases[idx[b]].ids)
		})
	}
	return ps
}

func addAll(l *lexicon, words string) []int32 {
	var ids []int32
	for _, w := range strings.Fields(words) {
		ids = append(ids, l.add(w))
	}
	return ids
}

// squeezeWords collapses repeated letters, on both the phrases and the
// message, so that "hiii", "thanksss" and "merciii" read as the phrases they
// stretch. Squeezing both sides keeps real double letters matching
// ("hello" and "helo" both become "helo").
func squeezeWords(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		var b strings.Builder
		var prev rune
		for j, r := range w {
			if j > 0 && r == prev {
				continue
			}
			b.WriteRune(r)
			prev = r
		}
		out[i] = b.String()
	}
	return out
}

// phraseTokens is a message read for phrase matching, with the position in
// the original words of each of its own.
type phraseTokens struct {
	tokens
	origin []int
}

// originOf maps a count of phrase words to a count of original words.
func (pt phraseTokens) originOf(n int) int {
	if n < len(pt.origin) {
		return pt.origin[n]
	}
	return pt.origin[len(pt.origin)-1]
}

func (ps *phraseSet) annotate(words []string) phraseTokens {
	norm, origin := phraseWords(words)
	return phraseTokens{tokens: ps.lex.annotate(norm), origin: origin}
}

// phraseWords normalises the casual variants of a phrase to one form on
// both sides, so the examples file need not list each: "doesn't" and "does
// not", "ça m'aide pas" and "ça ne m'aide pas" (spoken French drops "ne").
// origin[i] is the index in words of output word i; a final entry holds
// len(words).
func phraseWords(words []string) (out []string, origin []int) {
	out = make([]string, 0, len(words)+2)
	origin = make([]int, 0, len(words)+3)
	for i, w := range words {
		if w == "ne" || w == "n" {
			continue
		}
		exp := expandContraction(w)
		out = append(out, exp...)
		for range exp {
			origin = append(origin, i)
		}
	}
	return squeezeWords(out), append(origin, len(words))
}

func expandContraction(w string) []string {
	switch w {
	case "doesnt", "didnt", "dont", "isnt", "wasnt", "cant", "wont", "havent", "hasnt":
		stem := strings.TrimSuffix(w, "nt")
		switch w {
		case "cant":
			stem = "can"
		case "wont":
			stem = "will"
		}
		return []string{stem, "not"}
	case "cannot":
		return []string{"can", "not"}
	case "thats":
		return []string{"that", "is"}
	case "its":
		return []string{"it", "is"}
	case "im":
		return []string{"i", "am"}
	case "ive":
		return []string{"i", "have"}
	case "youre":
		return []string{"you", "are"}
	}
	return []string{w}
}

// segment reads t from its first word as a run of phrases whose intent allow
// accepts, skipping words in skip. It stops at the first word that is
// neither and returns the phrases read and the number of words consumed.
func (ps *phraseSet) segment(t tokens, allow func(intent string) bool, skip bitset) (found []phrase, n int) {
	i := 0
	for i < t.len() {
		best := -1
		for _, id := range t.at(i) {
			for _, pi := range ps.byFirst[id] {
				p := ps.phrases[pi]
				if !allow(p.intent) || (best >= 0 && len(p.ids) <= len(ps.phrases[best].ids)) {
					continue
				}
				if ps.matchAt(p, t, i) {
					best = pi
				}
			}
		}
		switch {
		case best >= 0:
			found = append(found, ps.phrases[best])
			i += len(ps.phrases[best].ids)
		case skip.hasAny(t.at(i)):
			i++
		default:
			return found, i
		}
	}
	return found, i
}

func (ps *phraseSet) matchAt(p phrase, t tokens, i int) bool {
	if i+len(p.ids) > t.len() {
		return false
	}
	for j, id := range p.ids {
		if !containsID(t.at(i+j), id) {
			return false
		}
	}
	return true
}

// only reports whether the whole message is phrases of the allowed intents
// and filler, with at least one phrase.
func (ps *phraseSet) only(t phraseTokens, allow func(string) bool) ([]phrase, bool) {
	found, n := ps.segment(t.tokens, allow, ps.filler)
	return found, n == t.len() && len(found) > 0
}

// leadingGreeting returns how many of the original words at the start of t
// are a greeting or an acknowledgement ("hi there,", "ok so", "bonjour
// madame"), to be skipped before the rest of the message is read.
func (ps *phraseSet) leadingGreeting(t phraseTokens) int {
	_, n := ps.segment(t.tokens, func(intent string) bool {
		return intent == Greeting || intent == Thanks
	}, ps.address)
	return t.originOf(n)
}

func phraseTexts(found []phrase) string {
	texts := make([]string, len(found))
	for i, p := range found {
		texts[i] = p.text
	}
	return strings.Join(texts, " + ")
}
