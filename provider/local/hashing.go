// Package local holds the offline providers Relais runs with when no model
// server is configured: a hashing embedder that needs no weights. They are
// deterministic, so tests and evals give the same numbers on every machine.
package local

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/language"
)

// HashingModel names the hashing embedder's feature scheme in the store's
// embedding space record. Change it whenever the features change, so that a
// store embedded with the old scheme asks to be re-embedded.
const HashingModel = "relais-hashing-v2"

// DefaultHashingDimensions balances collisions against storage and scan
// cost: a support question yields a few hundred features, which fill
// 1,024 buckets with few collisions, while a vector stays at 4 KiB.
//
// Smaller spaces were measured and cost answers where the vectors matter
// most, a knowledge base without history (`relais eval` without examples,
// top-1 accuracy on the answerable questions at 1,024 / 512 / 256
// dimensions): insurance 90.2 / 89.8 / 88.7%, retail_support 48.2 / 46.8 /
// 43.0%. With history the classifier carries the decision and the 5-fold
// figures did not move (insurance, hint3_curekart, retail_support alike at
// 256). The speed they would buy is small: the vector scan (both stores,
// internal/vecindex) reads only the query's non-zero columns, as many at
// 256 dimensions as at 1,024; what a smaller space saves is memory (a byte
// a dimension per vector in the index) and the reading of the candidates'
// vectors. (When PostgreSQL searched through an HNSW index, its build on
// 100k chunks took 1m54s at 256 dimensions against 2m18s, and its queries
// 20 to 70 ms at either size.)
const DefaultHashingDimensions = 1024

// Feature weights. Stemmed content words carry the meaning; word pairs keep
// some order ("card declined" vs "declined card" is the same, "not working"
// is not "working"); character n-grams of each word tolerate typos and
// inflections the stemmer misses ("cancle", "refunds'"). Stop words count a
// little, so that "how do I" questions still resemble each other.
const (
	wordWeight     = 1.0
	stopWeight     = 0.25
	bigramWeight   = 0.5
	charGramWeight = 0.15
	// groupWeight is a thesaurus group's: a little under a word's, since
	// the group says "the same kind of thing", not "the same word".
	groupWeight = 0.7
	minCharGram = 3
	maxCharGram = 5
)

// HashingEmbedder maps text to a fixed-size vector by signed feature hashing
// of stemmed words, word bigrams and character n-grams, L2-normalised so that
// the dot product is the cosine. It implements knowledge.Embedder.
type HashingEmbedder struct {
	dims      int
	thesaurus *Thesaurus
}

var _ knowledge.Embedder = (*HashingEmbedder)(nil)

// NewHashingEmbedder returns an embedder of dims dimensions
// (DefaultHashingDimensions when dims is 0) with the built-in thesaurus.
func NewHashingEmbedder(dims int) (*HashingEmbedder, error) {
	return NewHashingEmbedderWith(dims, DefaultThesaurus())
}

// NewHashingEmbedderWith returns an embedder of dims dimensions with the
// thesaurus t (none when nil).
func NewHashingEmbedderWith(dims int, t *Thesaurus) (*HashingEmbedder, error) {
	if dims == 0 {
		dims = DefaultHashingDimensions
	}
	if dims < 16 || dims > 16000 {
		return nil, fmt.Errorf("hashing embedder: dimensions %d out of range 16..16000: %w", dims, relais.ErrInvalid)
	}
	return &HashingEmbedder{dims: dims, thesaurus: t}, nil
}

// Space identifies the scheme and size of the vectors. Another thesaurus
// than the built-in one gives other vectors, so it names another model:
// the store then asks for the knowledge base to be re-embedded.
func (e *HashingEmbedder) Space() knowledge.EmbeddingSpace {
	model := HashingModel
	switch {
	case e.thesaurus == nil:
		model += "+no-thesaurus"
	case e.thesaurus.id != defaultThesaurusID:
		model += "+thesaurus-" + e.thesaurus.id
	}
	return knowledge.EmbeddingSpace{Model: model, Dimensions: e.dims}
}

// defaultThesaurusID identifies the built-in thesaurus.
var defaultThesaurusID = DefaultThesaurus().id

// Embed returns one vector per text. It never fails except on a cancelled
// context; an empty text gives the zero vector.
func (e *HashingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = e.Vector(t)
	}
	return out, nil
}

// Vector embeds one text.
func (e *HashingEmbedder) Vector(text string) []float32 {
	acc := make([]float64, e.dims)
	words := language.Words(text)
	lang := language.DetectWords(text, words)
	stems := stemWords(lang, words) // every word's, for the thesaurus's phrases
	e.thesaurus.Groups(stems, func(g int) { e.add(acc, 'g', strconv.Itoa(g), "", groupWeight) })
	prev := ""
	for i, w := range words {
		if language.IsStopword(lang, w) {
			e.add(acc, 'w', w, "", stopWeight)
			continue
		}
		stem := stems[i]
		e.add(acc, 'w', stem, "", wordWeight)
		if prev != "" {
			e.add(acc, 'b', prev, stem, bigramWeight)
		}
		prev = stem
		e.addCharGrams(acc, w)
	}
	v := make([]float32, e.dims)
	var norm float64
	for _, x := range acc {
		norm += x * x
	}
	if norm == 0 {
		return v
	}
	inv := 1 / math.Sqrt(norm)
	for i, x := range acc {
		v[i] = float32(x * inv)
	}
	return v
}

// stems returns the stems of text's words, in the language detected.
func (e *HashingEmbedder) stems(text string) []string {
	words := language.Words(text)
	return stemWords(language.DetectWords(text, words), words)
}

func stemWords(lang string, words []string) []string {
	stems := make([]string, len(words))
	for i, w := range words {
		stems[i] = language.Stem(lang, w)
	}
	return stems
}

// addCharGrams adds the character n-grams of "<w>", the angle brackets
// marking the word's edges so that prefixes and suffixes are features too.
func (e *HashingEmbedder) addCharGrams(acc []float64, w string) {
	language.EachCharGram(w, minCharGram, maxCharGram, func(g string) { e.add(acc, 'c', g, "", charGramWeight) })
}

// add hashes the feature (kind, a, b) with FNV-1a: the low bits pick the
// bucket, the top bit the sign, so collisions cancel out on average instead
// of piling up.
func (e *HashingEmbedder) add(acc []float64, kind byte, a, b string, weight float64) {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	h = (h ^ uint64(kind)) * prime
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	if b != "" {
		h = (h ^ ' ') * prime
		for i := 0; i < len(b); i++ {
			h = (h ^ uint64(b[i])) * prime
		}
	}
	// FNV's low bits mix poorly for short inputs: fold the high half in.
	h ^= h >> 29
	idx := int(h % uint64(e.dims))
	if h>>63 == 1 {
		weight = -weight
	}
	acc[idx] += weight
}
