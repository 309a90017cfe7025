package local

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/relais-ai/relais"
)

func TestParseThesaurus(t *testing.T) {
	t.Parallel()
	th, err := ParseThesaurus([]byte("# comment\n\nrefund, money back , Remboursement\n parcel,package\n"))
	if err != nil {
		t.Fatal(err)
	}
	groups := func(text string) []int {
		var out []int
		th.Groups(stemsOf(text), func(g int) { out = append(out, g) })
		return out
	}
	for _, c := range []struct {
		text string
		want []int
	}{
		{"I want my money back", []int{0}},
		{"refunds please", []int{0}},      // stems: refunds → refund
		{"mon remboursement", []int{0}},   // accents folded, French stem
		{"where is my package", []int{1}}, // phrase and word groups apart
		{"money back for the parcel", []int{0, 1}},
		{"back of the money", nil}, // a phrase is its words in order
	} {
		if got := groups(c.text); !slices.Equal(got, c.want) {
			t.Errorf("%q: groups %v, want %v", c.text, got, c.want)
		}
	}
	for _, bad := range []string{"lonely\n", "a, ,\n", ", !!, b\n", strings.Repeat("x", maxThesaurusBytes+1)} {
		if _, err := ParseThesaurus([]byte(bad)); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("ParseThesaurus(%.20q): %v, want ErrInvalid", bad, err)
		}
	}
}

// TestThesaurusBringsParaphrasesTogether: with the built-in thesaurus, a
// customer's words meet the FAQ's other words for the same thing, which
// hashing alone cannot see.
func TestThesaurusBringsParaphrasesTogether(t *testing.T) {
	t.Parallel()
	with, _ := NewHashingEmbedder(0)
	without, _ := NewHashingEmbedderWith(0, nil)
	articles := []string{"Place an order", "Get a refund", "Track your parcel", "Change your password", "Delivery costs"}
	for _, c := range []struct{ question, want string }{
		{"I want my money back", "Get a refund"},
		{"where is my package", "Track your parcel"},
		{"je veux être remboursée", "Get a refund"}, // the group holds French too
		{"I can't log in", "Change your password"},
	} {
		best := func(e *HashingEmbedder) (string, float64) {
			q := e.Vector(c.question)
			top, topSim := "", -2.0
			for _, a := range articles {
				if s := cosine(q, e.Vector(a)); s > topSim {
					top, topSim = a, s
				}
			}
			return top, topSim
		}
		if got, _ := best(with); got != c.want {
			t.Errorf("%q: nearest %q with the thesaurus, want %q", c.question, got, c.want)
		}
		simWith := cosine(with.Vector(c.question), with.Vector(c.want))
		simWithout := cosine(without.Vector(c.question), without.Vector(c.want))
		if simWith <= simWithout {
			t.Errorf("%q ~ %q: %.3f with the thesaurus, %.3f without", c.question, c.want, simWith, simWithout)
		}
	}
	if with.Space().Model != HashingModel || without.Space().Model == HashingModel {
		t.Errorf("spaces: built-in %q, none %q: another thesaurus must name another model", with.Space().Model, without.Space().Model)
	}
	custom, _ := ParseThesaurus([]byte("a, b\n"))
	e, _ := NewHashingEmbedderWith(0, custom)
	if m := e.Space().Model; m == HashingModel || m == without.Space().Model {
		t.Errorf("custom thesaurus model %q", m)
	}
}

func TestDefaultThesaurusParses(t *testing.T) {
	t.Parallel()
	if th := DefaultThesaurus(); len(th.phrases) < 100 {
		t.Errorf("built-in thesaurus: %d phrases", len(th.phrases))
	}
}

func stemsOf(text string) []string {
	e := &HashingEmbedder{}
	return e.stems(text)
}
