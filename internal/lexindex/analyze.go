// Package lexindex is the full-text side of a knowledge search, kept in
// memory: an inverted index of the words of every chunk (or example),
// ranked by BM25, built once per loaded snapshot of the store and then only
// read. Both stores search it, so a question finds the same passages, in
// the same order, with the same scores, on the embedded store and on
// PostgreSQL.
//
// It replaces the stores' own full-text search (SQLite's FTS5 bm25 and
// PostgreSQL's ts_rank), which had three faults: the two ranked
// differently; each search cost a query per word to count its matches and
// another to rank them, the largest part of a decision's time at every
// size (28% of the CPU at 1,000 chunks on the embedded store, 44% of the
// database's statement time on PostgreSQL); and FTS5 could not stem French.
// In memory, a word's matches are the length of its postings, and ranking
// a few thousand candidates costs a pass over their postings.
package lexindex

import (
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/french"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/relais-ai/relais/knowledge"
)

// maxWordBytes drops "words" no dictionary holds: a pasted token, a hash.
const maxWordBytes = 100

// Words splits text into the words a query searches for: its distinct
// words, lowercased, but the stop words of lang (of English and of French
// when lang is neither), in the order they first appear, at most max of
// them (a pasted e-mail thread must not become a thousand-word query; its
// first words carry the question). Nothing in text is syntax.
//
// A word is a run of letters, digits and combining marks; everything else
// separates words.
func Words(text, lang string, max int) []string {
	var words []string
	seen := make(map[string]bool)
	for w := range eachWord(text) {
		if len(w) > maxWordBytes {
			continue
		}
		w = strings.ToLower(w)
		if seen[w] || IsStopWord(w, lang) {
			continue
		}
		seen[w] = true
		words = append(words, w)
		if len(words) == max {
			break
		}
	}
	return words
}

// IsStopWord reports whether the lowercased word w is a stop word of lang,
// or of English or French when lang is neither. The lists are Snowball's.
// Stop words are neither indexed nor searched for: "des" would match every
// French passage and "how do I" every English question.
func IsStopWord(w, lang string) bool {
	switch lang {
	case knowledge.English:
		return english.IsStopWord(w)
	case knowledge.French:
		return french.IsStopWord(w)
	default:
		return english.IsStopWord(w) || french.IsStopWord(w)
	}
}

// term is the indexed form of the lowercased word w in lang: its Snowball
// stem, French for French (knowledge.French) and English for any other
// language, without diacritics, so that "annulé" and "annule" (a customer
// typing without accents) meet. The French stemmer reads accents, so they
// go after it; the English one, before.
//
// A text of unknown language is stemmed as English, as the embedded store's
// FTS5 tokenizer did every text: language detection gives up on short texts
// ("refund not showing"), most of them English, and the English stemmer
// mostly only trims the endings of a word of another language.
func term(w, lang string) string {
	if lang == knowledge.French {
		return fold(french.Stem(w, true))
	}
	return english.Stem(fold(w), true)
}

// fold removes diacritics from w (NFD, then no combining marks).
func fold(w string) string {
	ascii := true
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return w
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, w)
	if err != nil {
		return w
	}
	return out
}

// eachWord yields the words of text, pieces of it: runs of letters,
// numbers and combining marks that hold a letter or a number.
func eachWord(text string) iter.Seq[string] {
	return func(yield func(string) bool) {
		start, word := -1, false // the current run's start, and whether it holds a letter or number
		for i, r := range text {
			switch {
			case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'),
				r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsNumber(r)):
				if start < 0 {
					start = i
				}
				word = true
			case r >= utf8.RuneSelf && unicode.IsMark(r):
				if start < 0 {
					start = i
				}
			default:
				if word && !yield(text[start:i]) {
					return
				}
				start, word = -1, false
			}
		}
		if word {
			yield(text[start:])
		}
	}
}
