package assistant

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"relais"
)

// Classifier is a linear softmax classifier over message embeddings, trained
// on the labelled examples and the articles' own phrasings. Nearest-neighbour
// evidence weighs every shared word alike; the classifier learns which words
// tell neighbouring topics apart ("change the details of my premium
// account" is edit_account even though most "premium account" examples are
// about switching plans), and which belong to no topic at all. Labels are
// article external ids, and knowledge.HandoffLabel for messages that needed
// a person.
type Classifier struct {
	Labels  []string
	Dims    int
	Weights []float32 // len(Labels) rows of Dims
	Bias    []float32
}

// Training parameters. Thirty passes of stochastic gradient descent with a
// decaying step converge on a few thousand examples; the model is
// deterministic (fixed shuffling seed) so that evals repeat exactly.
const (
	classifierEpochs    = 30
	classifierStep      = 0.5
	classifierStepDecay = 0.0005
	classifierSeed      = 0x7e1a15
)

// trainingSample is one labelled embedding.
type trainingSample struct {
	vec   sparseVec
	label int
}

// sparseVec keeps the non-zero entries of an embedding: hashing embeddings
// have a few hundred of a thousand, and dense ones pay nothing extra.
type sparseVec struct {
	idx []int32
	val []float32
}

func toSparse(v []float32) sparseVec {
	var s sparseVec
	for i, x := range v {
		if x != 0 {
			s.idx = append(s.idx, int32(i))
			s.val = append(s.val, x)
		}
	}
	return s
}

// trainClassifier fits a classifier to samples whose labels index labels.
// It returns nil when there is nothing to learn (fewer than two labels).
func trainClassifier(ctx context.Context, labels []string, dims int, samples []trainingSample) (*Classifier, error) {
	if len(labels) < 2 || len(samples) == 0 || dims <= 0 {
		return nil, nil
	}
	k := len(labels)
	w := make([]float64, k*dims)
	b := make([]float64, k)
	rng := rand.New(rand.NewPCG(classifierSeed, uint64(len(samples))))
	order := make([]int, len(samples))
	for i := range order {
		order[i] = i
	}
	p := make([]float64, k)
	step := 0
	for epoch := 0; epoch < classifierEpochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, n := range order {
			step++
			lr := classifierStep / (1 + classifierStepDecay*float64(step))
			s := samples[n]
			softmax(w, b, dims, s.vec, p)
			for c := 0; c < k; c++ {
				g := p[c]
				if c == s.label {
					g--
				}
				if g == 0 {
					continue
				}
				row := w[c*dims : (c+1)*dims]
				for j, i := range s.vec.idx {
					row[i] -= lr * g * float64(s.vec.val[j])
				}
				b[c] -= lr * g
			}
		}
	}
	m := &Classifier{Labels: append([]string(nil), labels...), Dims: dims,
		Weights: make([]float32, len(w)), Bias: make([]float32, k)}
	for i, x := range w {
		m.Weights[i] = float32(x)
	}
	for i, x := range b {
		m.Bias[i] = float32(x)
	}
	return m, nil
}

// softmax writes into p the class probabilities of x under weights w (one
// row of dims per class) and biases b: float64 while training, float32 as
// stored.
func softmax[F float32 | float64](w, b []F, dims int, x sparseVec, p []float64) {
	top := math.Inf(-1)
	for c := range p {
		z := float64(b[c])
		row := w[c*dims : (c+1)*dims]
		for j, i := range x.idx {
			z += float64(row[i]) * float64(x.val[j])
		}
		p[c] = z
		top = math.Max(top, z)
	}
	var sum float64
	for c := range p {
		p[c] = math.Exp(p[c] - top)
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
}

// Predict returns the probability of each label for an embedding, by label.
// An embedding of another size gives nil: it comes from another model.
func (m *Classifier) Predict(vec []float32) map[string]float64 {
	if m == nil || len(vec) != m.Dims {
		return nil
	}
	x := toSparse(vec)
	p := make([]float64, len(m.Labels))
	softmax(m.Weights, m.Bias, m.Dims, x, p)
	out := make(map[string]float64, len(p))
	for c, label := range m.Labels {
		out[label] = p[c]
	}
	return out
}

// classifierMagic starts an encoded classifier; the digit is the format
// version.
const classifierMagic = "RLC1"

// maxClassifierLabels and maxClassifierDims bound what Unmarshal accepts, so
// a corrupt header cannot ask for gigabytes.
const (
	maxClassifierLabels = 100_000
	maxClassifierDims   = 16_000
)

// MarshalBinary encodes the classifier: the magic, the label count and
// dimensions, the labels (length-prefixed), then the weights and biases as
// little-endian float32.
func (m *Classifier) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(classifierMagic)
	var tmp [binary.MaxVarintLen64]byte
	put := func(x uint64) { buf.Write(tmp[:binary.PutUvarint(tmp[:], x)]) }
	put(uint64(len(m.Labels)))
	put(uint64(m.Dims))
	for _, l := range m.Labels {
		put(uint64(len(l)))
		buf.WriteString(l)
	}
	if err := binary.Write(&buf, binary.LittleEndian, m.Weights); err != nil {
		return nil, err
	}
	if err := binary.Write(&buf, binary.LittleEndian, m.Bias); err != nil {
		return nil, err
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
	dims, err := binary.ReadUvarint(r)
	if err != nil || dims == 0 || dims > maxClassifierDims {
		return bad("dimensions")
	}
	labels := make([]string, k)
	for i := range labels {
		n, err := binary.ReadUvarint(r)
		if err != nil || n > uint64(r.Len()) {
			return bad("label")
		}
		b := make([]byte, n)
		if _, err := r.Read(b); err != nil && n > 0 {
			return bad("label")
		}
		labels[i] = string(b)
	}
	if uint64(r.Len()) != 4*(k*dims+k) {
		return bad("weights size")
	}
	weights := make([]float32, k*dims)
	bias := make([]float32, k)
	if err := binary.Read(r, binary.LittleEndian, weights); err != nil {
		return bad("weights")
	}
	if err := binary.Read(r, binary.LittleEndian, bias); err != nil {
		return bad("bias")
	}
	for _, x := range append(weights, bias...) {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return bad("a weight is not finite")
		}
	}
	*m = Classifier{Labels: labels, Dims: int(dims), Weights: weights, Bias: bias}
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
