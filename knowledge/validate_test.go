package knowledge

import (
	"bytes"
	"errors"
	"maps"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/relais-ai/relais"
)

func TestValidateExample(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		e     Example
		valid bool
	}{
		{"labelled", Example{Text: "where is my parcel", ArticleID: "faq:shipping", Source: "history.csv"}, true},
		{"handoff", Example{Text: "I want a person", ArticleID: HandoffLabel, Source: "history.csv"}, true},
		{"empty text", Example{Source: "history.csv"}, false},
		{"blank text", Example{Text: " \t\n", Source: "history.csv"}, false},
		{"no source", Example{Text: "where is my parcel"}, false},
	}
	for _, tt := range tests {
		err := ValidateExample(tt.e)
		if tt.valid && err != nil {
			t.Errorf("%s: %v, want no error", tt.name, err)
		}
		if !tt.valid && !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
}

// TestQueryText: what retrieval reads is trimmed, and cut at MaxQueryBytes
// without splitting a character; an example of it is always valid.
func TestQueryText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		wantLen    int
	}{
		{"short", "  where is my parcel?  ", len("where is my parcel?")},
		{"exactly the limit", strings.Repeat("a", MaxQueryBytes), MaxQueryBytes},
		{"over, ASCII", strings.Repeat("a", MaxQueryBytes+10), MaxQueryBytes},
		// 3-byte characters: 4096 is not a multiple of 3, so the cut
		// falls back to the last whole character.
		{"over, mid-character", strings.Repeat("€", MaxQueryBytes), MaxQueryBytes - MaxQueryBytes%3},
	} {
		got := QueryText(tc.text)
		if len(got) != tc.wantLen || !utf8.ValidString(got) {
			t.Errorf("%s: QueryText is %d bytes (valid UTF-8: %v), want %d", tc.name, len(got), utf8.ValidString(got), tc.wantLen)
		}
		if _, err := ValidateExampleText(got); err != nil {
			t.Errorf("%s: ValidateExampleText(QueryText(...)) = %v, want nil", tc.name, err)
		}
	}
}

func TestValidateCalibration(t *testing.T) {
	t.Parallel()
	ok := Calibration{Threshold: 0.6, MaxWrongRate: 0.05, Samples: 10, Examples: 12,
		EstimatedResolution: 0.7, EstimatedWrongRate: 0.04, Model: map[string]float64{"bias": -1.5}}
	tests := []struct {
		name   string
		change func(*Calibration)
		valid  bool
	}{
		{"complete", func(*Calibration) {}, true},
		{"zero", func(c *Calibration) { *c = Calibration{} }, true},
		{"NaN threshold", func(c *Calibration) { c.Threshold = math.NaN() }, false},
		{"infinite max wrong rate", func(c *Calibration) { c.MaxWrongRate = math.Inf(1) }, false},
		{"NaN resolution", func(c *Calibration) { c.EstimatedResolution = math.NaN() }, false},
		{"infinite wrong rate", func(c *Calibration) { c.EstimatedWrongRate = math.Inf(-1) }, false},
		{"NaN model parameter", func(c *Calibration) { c.Model = map[string]float64{"bias": math.NaN()} }, false},
		{"negative samples", func(c *Calibration) { c.Samples = -1 }, false},
		{"negative examples", func(c *Calibration) { c.Examples = -1 }, false},
	}
	for _, tt := range tests {
		c := ok
		tt.change(&c)
		err := ValidateCalibration(c)
		if tt.valid && err != nil {
			t.Errorf("%s: %v, want no error", tt.name, err)
		}
		if !tt.valid && !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
}

func TestValidateArticle(t *testing.T) {
	ok := Article{ExternalID: "faq:1"}
	for _, tt := range []struct {
		name   string
		a      Article
		chunks []Chunk
		valid  bool
	}{
		{"no chunks", ok, nil, true},
		{"both kinds", ok, []Chunk{{Kind: Passage}, {Kind: Question}}, true},
		{"empty external id", Article{}, nil, false},
		{"empty kind", ok, []Chunk{{Kind: Passage}, {}}, false},
		{"unknown kind", ok, []Chunk{{Kind: "summary"}}, false},
	} {
		err := ValidateArticle(tt.a, tt.chunks)
		if tt.valid != (err == nil) || (err != nil && !errors.Is(err, relais.ErrInvalid)) {
			t.Errorf("%s: ValidateArticle = %v, want valid %v", tt.name, err, tt.valid)
		}
	}
}

func TestEmbeddingSpaceCheck(t *testing.T) {
	for _, tt := range []struct {
		s     EmbeddingSpace
		valid bool
	}{
		{EmbeddingSpace{"m", 1}, true},
		{EmbeddingSpace{"m", MaxDimensions}, true},
		{EmbeddingSpace{"", 8}, false},
		{EmbeddingSpace{"m", 0}, false},
		{EmbeddingSpace{"m", MaxDimensions + 1}, false},
	} {
		err := tt.s.Check()
		if tt.valid != (err == nil) || (err != nil && !errors.Is(err, relais.ErrInvalid)) {
			t.Errorf("%+v.Check() = %v, want valid %v", tt.s, err, tt.valid)
		}
	}
	recorded := EmbeddingSpace{"m", 8}
	if err := recorded.Match(recorded); err != nil {
		t.Errorf("Match of the same space = %v", err)
	}
	for _, other := range []EmbeddingSpace{{"m", 9}, {"n", 8}} {
		if err := recorded.Match(other); !errors.Is(err, relais.ErrConflict) {
			t.Errorf("Match(%+v) = %v, want relais.ErrConflict", other, err)
		}
	}
}

func TestExampleKey(t *testing.T) {
	key := ExampleKey("s", "faq:1", "where is my parcel")
	if !bytes.Equal(key, ExampleKey("s", "faq:1", "where is my parcel")) {
		t.Error("ExampleKey is not deterministic")
	}
	// Fields are kept apart: no two triples that join to the same string
	// share a key.
	for _, f := range [][3]string{{"sa", "b", "c"}, {"s", "ab", "c"}, {"s", "a", "bc"}, {"", "sab", "c"}} {
		for _, g := range [][3]string{{"sa", "b", "c"}, {"s", "ab", "c"}, {"s", "a", "bc"}, {"", "sab", "c"}} {
			if f != g && bytes.Equal(ExampleKey(f[0], f[1], f[2]), ExampleKey(g[0], g[1], g[2])) {
				t.Errorf("ExampleKey%q == ExampleKey%q", f, g)
			}
		}
	}
}

func TestModelEncoding(t *testing.T) {
	for _, m := range []map[string]float64{nil, {}} {
		b, err := EncodeModel(m)
		if err != nil || string(b) != "{}" {
			t.Errorf("EncodeModel(%#v) = %s, %v; want {}", m, b, err)
		}
		if got, err := DecodeModel(b); err != nil || got != nil {
			t.Errorf("DecodeModel(%s) = %#v, %v; want nil", b, got, err)
		}
	}
	m := map[string]float64{"bias": -1.25, "third": 1.0 / 3}
	b, err := EncodeModel(m)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeModel(b); err != nil || !maps.Equal(got, m) {
		t.Errorf("DecodeModel(EncodeModel(%v)) = %v, %v", m, got, err)
	}
	if _, err := EncodeModel(map[string]float64{"nan": math.NaN()}); !errors.Is(err, relais.ErrInvalid) {
		t.Errorf("EncodeModel with NaN = %v, want relais.ErrInvalid", err)
	}
}
