package intent

import (
	"strings"

	"github.com/relais-ai/relais/language"
)

// lexicon interns the words that rules and phrases mention and finds them in
// a message, tolerating one typo on the words marked for it. Customers type
// "humna", "speek" and "conseillé" on phones; a rule that asks for a human
// must not miss them, so the lexicon does the fuzzy part once per token and
// the rules only compare small integer ids.
//
// Typos are found by symmetric deletion: two words are one edit apart
// (substitution, insertion, deletion or swap of neighbours) when deleting at
// most one letter from each gives the same string. The deletions of every
// tolerant word are indexed when the lexicon is built, so a lookup costs a
// few map probes per token rather than a scan of the vocabulary.
type lexicon struct {
	exact    map[string][]int32 // word as written in the rules
	tolerant map[string][]int32 // typo-tolerant words, keyed by themselves
	deletes  map[string][]int32 // typo-tolerant words, keyed by each one-letter deletion
	prefixes []prefixEntry
	size     int
}

type prefixEntry struct {
	prefix string
	id     int32
}

// Typo tolerance is limited to words of at least minTypoWord letters: below
// that, one edit turns most words into other real words ("fire", "five").
const (
	minTypoWord  = 4
	minTypoToken = 3
)

func newLexicon() *lexicon {
	return &lexicon{
		exact:    make(map[string][]int32),
		tolerant: make(map[string][]int32),
		deletes:  make(map[string][]int32),
	}
}

// add interns word (already folded) and returns its id. A trailing "~" marks
// it typo-tolerant, a trailing "*" makes it a prefix.
func (l *lexicon) add(word string) int32 {
	switch {
	case strings.HasSuffix(word, "*"):
		p := strings.TrimSuffix(word, "*")
		for _, e := range l.prefixes {
			if e.prefix == p {
				return e.id
			}
		}
		id := l.next()
		l.prefixes = append(l.prefixes, prefixEntry{prefix: p, id: id})
		return id
	case strings.HasSuffix(word, "~"):
		w := strings.TrimSuffix(word, "~")
		id := l.addExact(w)
		if len(w) >= minTypoWord && !containsID(l.tolerant[w], id) {
			l.tolerant[w] = append(l.tolerant[w], id)
			forEachDeletion(w, func(d string) {
				if !containsID(l.deletes[d], id) {
					l.deletes[d] = append(l.deletes[d], id)
				}
			})
		}
		return id
	default:
		return l.addExact(word)
	}
}

func (l *lexicon) addExact(w string) int32 {
	if ids, ok := l.exact[w]; ok {
		return ids[0]
	}
	id := l.next()
	l.exact[w] = []int32{id}
	return id
}

func (l *lexicon) next() int32 {
	id := int32(l.size)
	l.size++
	return id
}

// lookup appends to dst the ids of the lexicon words that w (folded) is, or
// is one typo away from.
func (l *lexicon) lookup(w string, dst []int32) []int32 {
	start := len(dst)
	dst = append(dst, l.exact[w]...)
	for _, p := range l.prefixes {
		if strings.HasPrefix(w, p.prefix) {
			dst = append(dst, p.id)
		}
	}
	// A word the lexicon knows, or a function word, is spelt as meant:
	// "argent" is not a typo of "agent", nor "then" of "them".
	if len(dst) > start || len(w) < minTypoToken || language.IsStopword(language.Unknown, w) {
		return dst
	}
	add := func(ids []int32) {
		for _, id := range ids {
			if !containsID(dst[start:], id) {
				dst = append(dst, id)
			}
		}
	}
	add(l.deletes[w]) // w lacks a letter
	forEachDeletion(w, func(d string) {
		add(l.tolerant[d]) // w has one letter too many
		add(l.deletes[d])  // w has one letter wrong, or two swapped
	})
	return dst
}

// forEachDeletion calls f with every string made by deleting one letter of
// w. The argument is only valid during the call.
func forEachDeletion(w string, f func(string)) {
	rs := []rune(w)
	if len(rs) < 2 {
		return
	}
	buf := make([]byte, 0, len(w))
	for i := range rs {
		buf = buf[:0]
		for j, r := range rs {
			if j != i {
				buf = append(buf, string(r)...)
			}
		}
		f(string(buf))
	}
}

func containsID(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// bitset is a set of lexicon ids.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(id int32) { b[id/64] |= 1 << (uint(id) % 64) }

func (b bitset) has(id int32) bool {
	i := int(id / 64)
	return i < len(b) && b[i]&(1<<(uint(id)%64)) != 0
}

func (b bitset) hasAny(ids []int32) bool {
	for _, id := range ids {
		if b.has(id) {
			return true
		}
	}
	return false
}

// tokens is a message as the rules see it: each word with the lexicon ids it
// matched, stored flat to keep Classify to a couple of allocations.
type tokens struct {
	words []string
	ids   []int32
	off   []int // ids of word i are ids[off[i]:off[i+1]]
}

func (l *lexicon) annotate(words []string) tokens {
	t := tokens{words: words, ids: make([]int32, 0, 2*len(words)), off: make([]int, 1, len(words)+1)}
	for _, w := range words {
		t.ids = l.lookup(w, t.ids)
		t.off = append(t.off, len(t.ids))
	}
	return t
}

func (t tokens) len() int { return len(t.words) }

func (t tokens) at(i int) []int32 { return t.ids[t.off[i]:t.off[i+1]] }

// from returns the tokens from word k on, sharing storage.
func (t tokens) from(k int) tokens {
	return tokens{words: t.words[k:], ids: t.ids, off: t.off[k:]}
}
