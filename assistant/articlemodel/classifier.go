package articlemodel

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/relais-ai/relais"
)

// Classifier is a multinomial logistic regression over the TF-IDF of a
// message's words, word pairs and character n-grams, trained on the
// articles' own phrasings and the labelled examples. Labels are article
// external ids, and knowledge.HandoffLabel for messages that needed a
// person: a class of its own, so that the classifier learns what no
// article answers as well as what each one does. It reads the customer's
// text itself, not an embedding, so it decides the same way whatever the
// store or the embedding model; the inverse document frequencies are
// learnt from the customer's own texts.
type Classifier struct {
	Labels []string
	// Terms is the vocabulary, in feature order; IDF weighs each term.
	Terms []string
	IDF   []float32
	// Weights holds len(Terms) rows of len(Labels), a term's weight for
	// every label side by side; Bias one per label.
	Weights []float32
	Bias    []float32

	index map[string]int32 // term → feature, built on first use
}

// Features. Word unigrams and bigrams tell topics apart by what is asked;
// character n-grams within words (3 to 5 characters, the word padded with
// spaces) carry misspellings, inflections and compounds the words miss.
// Term frequencies are dampened (1 + ln tf): a word said twice is not twice
// the evidence. Each family is scaled to unit length on its own, so that
// long messages and short ones weigh alike and neither family drowns the
// other.
const (
	charMinN = 3
	charMaxN = 5
)

// Training. The penalty is an L2 on the weights (not the biases) chosen
// among classifierCs by cross-validation; C is the inverse of the penalty
// per message, as usual for logistic regression. The solver is stochastic
// gradient descent: a pass over the messages costs what one gradient does,
// and a few dozen passes reach the optimum closely enough that the
// probabilities, which the threshold reads to the third decimal, settle;
// a quasi-Newton method needs many more full gradients, each a sweep of
// the whole weight matrix. The step starts at sgdStep (the
// features have unit length per family) and decays as 1 / (1 + passes); it
// stops after sgdEpochs passes, or once a pass lowers the loss by less
// than sgdTol of it. The shuffling is seeded, so that evals repeat exactly.
var classifierCs = []float64{16, 64, 256}

const (
	sgdStep        = 2.0
	sgdEpochs      = 60
	sgdTol         = 0.001
	classifierSeed = 0x7e1a15
)

// maxClassifierWeights bounds labels × terms: past it only the terms found
// in the most texts are kept (16 MB of weights at most).
const maxClassifierWeights = 4 << 20

// termKind tells the two families of terms apart in the vocabulary.
const (
	wordTerm = "w "
	charTerm = "c "
)

// eachTerm calls f with every term of text: words of two characters or
// more and pairs of them (prefixed wordTerm), then the character n-grams of
// each word padded with spaces (prefixed charTerm). The term's bytes are
// valid only during the call.
func eachTerm(text string, f func(term []byte, char bool)) {
	text = strings.ToLower(text)
	var toks []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' }) {
		if utf8.RuneCountInString(w) >= 2 && len(w) <= maxTermBytes/2-len(wordTerm) {
			toks = append(toks, w)
		}
	}
	buf := make([]byte, 0, maxTermBytes)
	for i, t := range toks {
		f(append(append(buf[:0], wordTerm...), t...), false)
		if i > 0 {
			f(append(append(append(append(buf[:0], wordTerm...), toks[i-1]...), ' '), t...), false)
		}
	}
	var r []rune
	for _, w := range strings.Fields(text) {
		r = append(append(append(r[:0], ' '), []rune(w)...), ' ')
		for n := charMinN; n <= charMaxN && n <= len(r); n++ {
			for i := 0; i+n <= len(r); i++ {
				buf = append(buf[:0], charTerm...)
				for _, c := range r[i : i+n] {
					buf = utf8.AppendRune(buf, c)
				}
				f(buf, true)
			}
		}
	}
}

// analyze returns the terms of text with their counts, words and word
// pairs apart from character n-grams.
func analyze(text string) (words, chars map[string]int) {
	words, chars = make(map[string]int), make(map[string]int)
	eachTerm(text, func(term []byte, char bool) {
		if char {
			chars[string(term)]++
		} else {
			words[string(term)]++
		}
	})
	return words, chars
}

// vectorize turns text into its TF-IDF features under vocabulary index
// with weights idf; terms outside the vocabulary are dropped. Features come
// in index order, so that every sum over them is made in the same order
// and the same message always gets the same probabilities to the last bit.
func vectorize(text string, index map[string]int32, idf []float32) sparseVec {
	var family [2][]int32 // the features of each term found, words then characters
	eachTerm(text, func(term []byte, char bool) {
		if j, ok := index[string(term)]; ok {
			if char {
				family[1] = append(family[1], j)
			} else {
				family[0] = append(family[0], j)
			}
		}
	})
	var v sparseVec
	for _, js := range family {
		slices.Sort(js)
		start := len(v.idx)
		var norm float64
		for i := 0; i < len(js); {
			n := i + 1
			for n < len(js) && js[n] == js[i] {
				n++
			}
			x := (1 + math.Log(float64(n-i))) * float64(idf[js[i]])
			v.idx = append(v.idx, js[i])
			v.val = append(v.val, float32(x))
			norm += x * x
			i = n
		}
		if norm > 0 {
			s := float32(1 / math.Sqrt(norm))
			for i := start; i < len(v.val); i++ {
				v.val[i] *= s
			}
		}
	}
	return v
}

// sparseVec keeps the non-zero features of a message.
type sparseVec struct {
	idx []int32
	val []float32
}

// vocabulary learns the terms of texts and their inverse document
// frequency, ln((1 + n) / (1 + df)) + 1, keeping at most maxTerms of them,
// those found in the most texts (ties in term order).
func vocabulary(texts []string, maxTerms int) ([]string, []float32) {
	df := make(map[string]int)
	for _, t := range texts {
		words, chars := analyze(t)
		for term := range words {
			df[term]++
		}
		for term := range chars {
			df[term]++
		}
	}
	terms := make([]string, 0, len(df))
	for term := range df {
		terms = append(terms, term)
	}
	sort.Slice(terms, func(i, j int) bool {
		if df[terms[i]] != df[terms[j]] {
			return df[terms[i]] > df[terms[j]]
		}
		return terms[i] < terms[j]
	})
	if len(terms) > maxTerms {
		terms = terms[:maxTerms]
	}
	sort.Strings(terms)
	idf := make([]float32, len(terms))
	n := float64(len(texts))
	for i, term := range terms {
		idf[i] = float32(math.Log((1+n)/(1+float64(df[term]))) + 1)
	}
	return terms, idf
}

// textSample is one labelled message.
type textSample struct {
	text  string
	label int
}

// trainingSet is what a classifier is fitted on: the labels, the
// vocabulary and inverse document frequencies learnt from the samples'
// texts, and the samples as features.
type trainingSet struct {
	vocab *Classifier // Labels, Terms, IDF and index; no weights
	xs    []sparseVec
	ys    []int
}

// newTrainingSet learns the vocabulary of samples, whose labels index
// labels, and turns them into features. It returns nil when there is
// nothing to learn (fewer than two labels, or no sample).
func newTrainingSet(labels []string, samples []textSample) *trainingSet {
	if len(labels) < 2 || len(samples) == 0 {
		return nil
	}
	texts := make([]string, len(samples))
	for i, s := range samples {
		texts[i] = s.text
	}
	terms, idf := vocabulary(texts, max(1, maxClassifierWeights/len(labels)))
	vocab := &Classifier{Labels: labels, Terms: terms, IDF: idf}
	vocab.terms()
	ts := &trainingSet{vocab: vocab, xs: make([]sparseVec, len(samples)), ys: make([]int, len(samples))}
	for i, s := range samples {
		ts.xs[i], ts.ys[i] = vectorize(s.text, vocab.index, idf), s.label
	}
	return ts
}

// trainClassifier fits a classifier with penalty c to samples whose labels
// index labels. It returns nil when there is nothing to learn.
func trainClassifier(ctx context.Context, labels []string, samples []textSample, c float64) (*Classifier, error) {
	ts := newTrainingSet(labels, samples)
	if ts == nil {
		return nil, nil
	}
	return ts.fit(ctx, c, nil)
}

// fit trains a classifier with penalty c, starting from warm (one fitted
// on the same set with another penalty) when it is not nil.
func (ts *trainingSet) fit(ctx context.Context, c float64, warm *Classifier) (*Classifier, error) {
	k, v := len(ts.vocab.Labels), len(ts.vocab.Terms)
	obj := &softmaxObjective{xs: ts.xs, ys: ts.ys, k: k, v: v, l2: 1 / (c * float64(len(ts.xs)))}
	x0 := make([]float64, (v+1)*k)
	if warm != nil {
		for i, w := range warm.Weights {
			x0[i] = float64(w)
		}
		for i, b := range warm.Bias {
			x0[v*k+i] = float64(b)
		}
	}
	x, err := obj.sgd(ctx, x0)
	if err != nil {
		return nil, err
	}
	m := &Classifier{Labels: ts.vocab.Labels, Terms: ts.vocab.Terms, IDF: ts.vocab.IDF, index: ts.vocab.index,
		Weights: make([]float32, v*k), Bias: make([]float32, k)}
	for i := range m.Weights {
		m.Weights[i] = float32(x[i])
	}
	for i := range m.Bias {
		m.Bias[i] = float32(x[v*k+i])
	}
	return m, nil
}

// softmaxObjective is the mean cross-entropy of a softmax over k labels
// plus l2/2 times the squared weights, as a function of the weights (v
// rows of k) followed by the k biases: what training minimises.
type softmaxObjective struct {
	xs   []sparseVec
	ys   []int
	k, v int
	l2   float64
}

// sgd minimises the objective by stochastic gradient descent from x0: one
// message at a time in a fixed shuffled order, the step decaying with the
// passes, the L2 penalty applied lazily through a common scale of the
// weights so that a step touches only the message's features.
func (o *softmaxObjective) sgd(ctx context.Context, x0 []float64) ([]float64, error) {
	k, v := o.k, o.v
	w := append([]float64(nil), x0[:v*k]...)
	b := append([]float64(nil), x0[v*k:]...)
	scale := 1.0
	z := make([]float64, k)
	order := make([]int, len(o.xs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(classifierSeed, uint64(len(o.xs))))
	n := float64(len(o.xs))
	t := 0.0
	prev := math.Inf(1)
	for epoch := 0; epoch < sgdEpochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		var loss float64
		for _, i := range order {
			s := o.xs[i]
			eta := sgdStep / (1 + t/n)
			t++
			copy(z, b)
			for q, j := range s.idx {
				row := w[int(j)*k : int(j)*k+k]
				xv := scale * float64(s.val[q])
				for c := range z {
					z[c] += row[c] * xv
				}
			}
			softmax(z)
			loss -= math.Log(z[o.ys[i]])
			z[o.ys[i]]--
			scale *= 1 - eta*o.l2
			for q, j := range s.idx {
				row := w[int(j)*k : int(j)*k+k]
				xv := eta * float64(s.val[q]) / scale
				for c := range z {
					row[c] -= z[c] * xv
				}
			}
			for c := range z {
				b[c] -= eta * z[c]
			}
			if scale < 1e-6 {
				for i := range w {
					w[i] *= scale
				}
				scale = 1
			}
		}
		loss /= n
		if prev-loss < sgdTol*prev {
			break
		}
		prev = loss
	}
	for i := range w {
		w[i] *= scale
	}
	return append(w, b...), nil
}

// terms returns the vocabulary's index, building it on first use: a
// classifier decoded or trained has it already.
func (m *Classifier) terms() map[string]int32 {
	if m.index == nil {
		m.index = make(map[string]int32, len(m.Terms))
		for i, t := range m.Terms {
			m.index[t] = int32(i)
		}
	}
	return m.index
}

// Predict returns the probability of each label for a message, by label;
// nil for a nil classifier.
func (m *Classifier) Predict(text string) map[string]float64 {
	if m == nil {
		return nil
	}
	p := m.probabilities(vectorize(text, m.terms(), m.IDF))
	out := make(map[string]float64, len(p))
	for c, label := range m.Labels {
		out[label] = p[c]
	}
	return out
}

// probabilities is the softmax of a message's features, in label order.
func (m *Classifier) probabilities(x sparseVec) []float64 {
	k := len(m.Labels)
	p := make([]float64, k)
	for c := range p {
		p[c] = float64(m.Bias[c])
	}
	for n, j := range x.idx {
		row := m.Weights[int(j)*k : int(j)*k+k]
		for c := range p {
			p[c] += float64(row[c]) * float64(x.val[n])
		}
	}
	softmax(p)
	return p
}

// softmax turns scores z into probabilities, in place; the largest score is
// taken out first so that no exponential overflows.
func softmax(z []float64) {
	top := math.Inf(-1)
	for _, zc := range z {
		top = math.Max(top, zc)
	}
	var sum float64
	for c := range z {
		z[c] = math.Exp(z[c] - top)
		sum += z[c]
	}
	for c := range z {
		z[c] /= sum
	}
}

// classifierMagic starts an encoded classifier; the digit is the format
// version.
const classifierMagic = "RLC2"

// maxClassifierLabels and maxClassifierTerms bound what Unmarshal accepts,
// so that a corrupt header cannot ask for gigabytes.
const (
	maxClassifierLabels = 100_000
	maxClassifierTerms  = 4 << 20
	maxTermBytes        = 64
)

// MarshalBinary encodes the classifier: the magic, the label and term
// counts, the labels and terms (length-prefixed), then the inverse document
// frequencies, weights and biases as little-endian float32.
func (m *Classifier) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(classifierMagic)
	var tmp [binary.MaxVarintLen64]byte
	put := func(x uint64) { buf.Write(tmp[:binary.PutUvarint(tmp[:], x)]) }
	put(uint64(len(m.Labels)))
	put(uint64(len(m.Terms)))
	for _, l := range m.Labels {
		put(uint64(len(l)))
		buf.WriteString(l)
	}
	for _, t := range m.Terms {
		put(uint64(len(t)))
		buf.WriteString(t)
	}
	for _, part := range [][]float32{m.IDF, m.Weights, m.Bias} {
		if err := binary.Write(&buf, binary.LittleEndian, part); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote; anything else is
// relais.ErrInvalid.
func (m *Classifier) UnmarshalBinary(data []byte) error {
	bad := func(what string) error { return fmt.Errorf("decode classifier: %s: %w", what, relais.ErrInvalid) }
	r := bytes.NewReader(data)
	magic := make([]byte, len(classifierMagic))
	if _, err := r.Read(magic); err != nil || string(magic) != classifierMagic {
		return bad("not an encoded classifier")
	}
	k, err := binary.ReadUvarint(r)
	if err != nil || k < 2 || k > maxClassifierLabels {
		return bad("label count")
	}
	v, err := binary.ReadUvarint(r)
	if err != nil || v > maxClassifierTerms || k*v > 4*maxClassifierWeights {
		return bad("term count")
	}
	readStrings := func(n uint64, limit uint64, what string) ([]string, error) {
		out := make([]string, n)
		for i := range out {
			l, err := binary.ReadUvarint(r)
			if err != nil || l > uint64(r.Len()) || l > limit {
				return nil, bad(what)
			}
			b := make([]byte, l)
			if _, err := r.Read(b); err != nil && l > 0 {
				return nil, bad(what)
			}
			out[i] = string(b)
		}
		return out, nil
	}
	labels, err := readStrings(k, math.MaxInt32, "label")
	if err != nil {
		return err
	}
	terms, err := readStrings(v, maxTermBytes, "term")
	if err != nil {
		return err
	}
	if uint64(r.Len()) != 4*(v+v*k+k) {
		return bad("weights size")
	}
	idf := make([]float32, v)
	weights := make([]float32, v*k)
	bias := make([]float32, k)
	for _, part := range [][]float32{idf, weights, bias} {
		if err := binary.Read(r, binary.LittleEndian, part); err != nil {
			return bad("weights")
		}
		for _, x := range part {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return bad("a weight is not finite")
			}
		}
	}
	*m = Classifier{Labels: labels, Terms: terms, IDF: idf, Weights: weights, Bias: bias}
	m.terms() // built now: Predict may then run concurrently
	return nil
}

// labelIndex gives every label a stable index: handoff first, then the
// article ids in order.
func labelIndex(ids map[string]bool) ([]string, map[string]int) {
	labels := make([]string, 0, len(ids))
	for id := range ids {
		labels = append(labels, id)
	}
	sort.Strings(labels) // HandoffLabel ("") sorts first
	index := make(map[string]int, len(labels))
	for i, l := range labels {
		index[l] = i
	}
	return labels, index
}
