package local

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/language"
)

// defaultThesaurus is the built-in list of ways customers say the same
// thing, in English and French; see the file for its format.
//
//go:embed thesaurus.txt
var defaultThesaurus []byte

// Thesaurus maps the words and phrases of each group of equivalent
// expressions to the group, so that the embedder can give a message the
// group as a feature: "parcel" and "package" then share one.
type Thesaurus struct {
	// phrases maps a phrase, as its words' stems joined by spaces, to the
	// groups it belongs to. A word is stemmed in both languages, since a
	// group's entries carry no language of their own.
	phrases map[string][]int
	longest int    // words in the longest phrase
	id      string // identifies the contents, for the embedding space
}

// maxThesaurusBytes bounds a thesaurus file: it is a hand-kept list.
const maxThesaurusBytes = 1 << 20

// DefaultThesaurus returns the built-in thesaurus.
func DefaultThesaurus() *Thesaurus {
	t, err := ParseThesaurus(defaultThesaurus)
	if err != nil {
		panic(fmt.Sprintf("local: the built-in thesaurus: %v", err)) // tested
	}
	return t
}

// ParseThesaurus reads a thesaurus: one group a line, entries separated by
// commas, lines starting with # and blank lines ignored. A group needs two
// entries or more; anything else is relais.ErrInvalid naming the line.
func ParseThesaurus(data []byte) (*Thesaurus, error) {
	if len(data) > maxThesaurusBytes {
		return nil, fmt.Errorf("thesaurus: %d bytes, at most %d: %w", len(data), maxThesaurusBytes, relais.ErrInvalid)
	}
	t := &Thesaurus{phrases: make(map[string][]int)}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxThesaurusBytes)
	group := 0
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		var entries []string
		for _, e := range strings.Split(text, ",") {
			if e = strings.TrimSpace(e); e != "" {
				entries = append(entries, e)
			}
		}
		if len(entries) < 2 {
			return nil, fmt.Errorf("thesaurus line %d: a group needs two entries or more, separated by commas: %w", line, relais.ErrInvalid)
		}
		for _, e := range entries {
			words := language.Words(e)
			if len(words) == 0 {
				return nil, fmt.Errorf("thesaurus line %d: entry %q has no word: %w", line, e, relais.ErrInvalid)
			}
			for _, lang := range []string{language.English, language.French} {
				key := stemPhrase(lang, words)
				if !slices.Contains(t.phrases[key], group) {
					t.phrases[key] = append(t.phrases[key], group)
				}
			}
			t.longest = max(t.longest, len(words))
		}
		group++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("thesaurus: %w: %w", err, relais.ErrInvalid)
	}
	h := fnv.New32a()
	h.Write(data)
	t.id = fmt.Sprintf("%08x", h.Sum32())
	return t, nil
}

// Groups calls f with each group found in the stems of a message (one
// call per occurrence), longest phrases first and without overlaps: in
// "money back guarantee" the phrase "money back" is found, not "back".
func (t *Thesaurus) Groups(stems []string, f func(group int)) {
	if t == nil {
		return
	}
	for i := 0; i < len(stems); {
		n := 0
		for l := min(t.longest, len(stems)-i); l >= 1; l-- {
			if gs, ok := t.phrases[strings.Join(stems[i:i+l], " ")]; ok {
				for _, g := range gs {
					f(g)
				}
				n = l
				break
			}
		}
		i += max(n, 1)
	}
}

func stemPhrase(lang string, words []string) string {
	stems := make([]string, len(words))
	for i, w := range words {
		stems[i] = language.Stem(lang, w)
	}
	return strings.Join(stems, " ")
}
