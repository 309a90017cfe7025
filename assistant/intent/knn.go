package intent

import (
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/relais-ai/relais/language"
)

// exampleIndex finds the labelled examples nearest to a message: cosine
// similarity over sparse TF-IDF vectors of stems, word pairs and character
// n-grams, served from an inverted index so that a lookup touches only the
// examples that share a feature with the message.
//
// The features differ from the retrieval embedder's on purpose: intent lives
// in function words as much as in topic words. "How do I file a complaint"
// and "I want to file a complaint" share every topic word; only "how do" and
// "want to" tell the question from the complaint, so stop words and the word
// pairs that contain them are kept, at a lower weight.
type exampleIndex struct {
	examples  []indexedExample
	labels    []string // label names; indexedExample.label indexes this
	postings  map[uint64][]posting
	idf       map[uint64]float64
	unseenIDF float64
}

type indexedExample struct {
	label  int
	intent string
	topic  string
	lang   string
	text   string
}

type posting struct {
	ex int32
	w  float32
}

const (
	stemWeight     = 1.0
	stopWeight     = 0.5
	pairWeight     = 0.7
	charGramWeight = 0.15
	minGram        = 3
	maxGram        = 5
	// maxKNNWords bounds the work on a pasted letter; intent shows in the
	// first sentences, and the rules still read the whole message.
	maxKNNWords = 80
)

// neighbours is k of the kNN vote: the nearest examples vote with their
// similarity, and the winning label must then pass its policy.
const neighbours = 5

// knnPolicy is the bar an example-based label must clear: its nearest
// example must be close enough (minSim, cosine) and clearly closer than the
// nearest example of any other label, [question] counter-examples included
// (margin). Leave-one-out over intents.txt shows a paraphrase scoring
// 0.3-0.6 against its nearest sibling and a near copy above 0.7, while an
// unrelated question sharing a phrase ("what is this charge on my
// statement" against "a fraudulent charge on my statement") can reach 0.6:
// hence 0.5 plus a margin, and counter-examples for the rest.
// Requests for a person accept a looser match than the sensitive topics,
// for the reason given on the rules: missing one costs more than a false
// one. Emergencies and self-harm get their recall from the rules; their
// examples (bereavement, hardship) are long and general, so they are held to
// the precision bar.
type knnPolicy struct {
	minSim float64
	margin float64
}

func policyFor(intent, topic string) knnPolicy {
	switch {
	case intent == HumanRequest:
		return knnPolicy{minSim: 0.45, margin: 0.05}
	case intent == Sensitive:
		return knnPolicy{minSim: 0.50, margin: 0.06}
	default: // feedback, read only right after "did this help?"
		return knnPolicy{minSim: 0.50, margin: 0.05}
	}
}

// knnIntents are the intents matched by nearest examples; smalltalk is
// matched by phrases instead.
func knnIntent(intent string) bool {
	switch intent {
	case HumanRequest, Sensitive, Question, FeedbackYes, FeedbackNo:
		return true
	}
	return false
}

func newExampleIndex(examples []Example) *exampleIndex {
	ix := &exampleIndex{postings: map[uint64][]posting{}, idf: map[uint64]float64{}}
	labelIDs := map[string]int{}
	var vecs []map[uint64]float64
	df := map[uint64]int{}
	for _, ex := range examples {
		if !knnIntent(ex.Intent) {
			continue
		}
		lang := ex.Lang
		if lang == "" {
			lang = language.Detect(ex.Text)
		}
		label := ex.Intent
		if ex.Topic != "" {
			label += ":" + ex.Topic
		}
		id, ok := labelIDs[label]
		if !ok {
			id = len(ix.labels)
			labelIDs[label] = id
			ix.labels = append(ix.labels, label)
		}
		ix.examples = append(ix.examples, indexedExample{label: id, intent: ex.Intent, topic: ex.Topic, lang: lang, text: ex.Text})
		v := features(language.Words(ex.Text), lang)
		for k := range v {
			df[k]++
		}
		vecs = append(vecs, v)
	}
	n := float64(len(vecs))
	for k, d := range df {
		ix.idf[k] = math.Log((n+1)/(float64(d)+1)) + 1
	}
	ix.unseenIDF = math.Log(n+1) + 1
	for i, v := range vecs {
		ix.weigh(v)
		for k, w := range v {
			ix.postings[k] = append(ix.postings[k], posting{ex: int32(i), w: float32(w)})
		}
	}
	return ix
}

// weigh turns raw feature counts into a unit TF-IDF vector in place.
func (ix *exampleIndex) weigh(v map[uint64]float64) {
	// In key order, not the map's: the same message must get the same
	// weights to the last bit on every run, so that a near tie between two
	// intents always falls the same way.
	var norm float64
	for _, k := range slices.Sorted(maps.Keys(v)) {
		w := v[k]
		idf, ok := ix.idf[k]
		if !ok {
			idf = ix.unseenIDF
		}
		w *= idf
		v[k] = w
		norm += w * w
	}
	if norm == 0 {
		return
	}
	inv := 1 / math.Sqrt(norm)
	for k := range v {
		v[k] *= inv
	}
}

// features returns the raw feature weights of words in lang.
func features(words []string, lang string) map[uint64]float64 {
	v := make(map[uint64]float64, 8*len(words))
	prev := ""
	for _, w := range words {
		if isNumber(w) {
			// Order and policy numbers say nothing about intent.
			continue
		}
		stem := w
		weight := stopWeight
		if !language.IsStopword(lang, w) {
			stem = language.Stem(lang, w)
			weight = stemWeight
			addCharGrams(v, w)
		}
		v[featureKey('w', stem, "")] += weight
		if prev != "" {
			v[featureKey('p', prev, stem)] += pairWeight
		}
		prev = stem
	}
	return v
}

func isNumber(w string) bool {
	for _, r := range w {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// addCharGrams adds the character n-grams of "<w>", so that a misspelt word
// ("complaitn", "fraudulant") still shares most of its features with the
// right one.
func addCharGrams(v map[uint64]float64, w string) {
	language.EachCharGram(w, minGram, maxGram, func(g string) { v[featureKey('c', g, "")] += charGramWeight })
}

// featureKey hashes a feature with 64-bit FNV-1a; with a few thousand
// features in the index, collisions are negligible.
func featureKey(kind byte, a, b string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	h = (h ^ uint64(kind)) * prime
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	h = (h ^ 0xff) * prime
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * prime
	}
	return h
}

// knnMatch is the outcome of a nearest-example lookup.
type knnMatch struct {
	intent  string
	topic   string
	sim     float64 // cosine to the nearest example of the winning label
	other   float64 // cosine to the nearest example of any other label
	example string
	ok      bool // the winning label passed its threshold and margin
}

// nearest votes among the nearest examples of lang (all languages when lang
// is unknown). Feedback examples take part only when allowFeedback is set.
func (ix *exampleIndex) nearest(words []string, lang string, allowFeedback bool) knnMatch {
	if len(ix.examples) == 0 || len(words) == 0 {
		return knnMatch{}
	}
	if len(words) > maxKNNWords {
		words = words[:maxKNNWords]
	}
	scores := ix.similarities(words, lang)
	top, bestByLabel, bestExample := ix.topHits(scores, lang, allowFeedback)
	if len(top) == 0 {
		return knnMatch{}
	}
	win := ix.vote(top)
	other := 0.0
	for l, s := range bestByLabel {
		if l != win && s > other {
			other = s
		}
	}
	ex := ix.examples[bestExample[win]]
	m := knnMatch{intent: ex.intent, topic: ex.topic, sim: bestByLabel[win], other: other, example: ex.text}
	p := policyFor(ex.intent, ex.topic)
	m.ok = m.sim >= p.minSim && m.sim-m.other >= p.margin
	return m
}

// knnHit is an example and its similarity to the message.
type knnHit struct {
	ex  int
	sim float64
}

// similarities returns the cosine of words, in lang, to every example,
// accumulated over the postings of the message's features.
func (ix *exampleIndex) similarities(words []string, lang string) []float64 {
	q := features(words, lang)
	ix.weigh(q)
	scores := make([]float64, len(ix.examples))
	for _, k := range slices.Sorted(maps.Keys(q)) { // summed in one order on every run
		w := q[k]
		for _, p := range ix.postings[k] {
			scores[p.ex] += w * float64(p.w)
		}
	}
	return scores
}

// eligible reports whether example i may take part in a lookup in lang.
func (ix *exampleIndex) eligible(i int, lang string, allowFeedback bool) bool {
	ex := ix.examples[i]
	if ex.lang != "" && lang != "" && ex.lang != lang {
		return false
	}
	if !allowFeedback && (ex.intent == FeedbackYes || ex.intent == FeedbackNo) {
		return false
	}
	return true
}

// topHits returns the eligible examples with the highest positive scores,
// at most neighbours of them, best first, and for each label its best
// score and the example that scored it.
func (ix *exampleIndex) topHits(scores []float64, lang string, allowFeedback bool) (top []knnHit, bestByLabel []float64, bestExample []int) {
	top = make([]knnHit, 0, neighbours+1)
	bestByLabel = make([]float64, len(ix.labels))
	bestExample = make([]int, len(ix.labels))
	for i, s := range scores {
		if s <= 0 || !ix.eligible(i, lang, allowFeedback) {
			continue
		}
		if l := ix.examples[i].label; s > bestByLabel[l] {
			bestByLabel[l], bestExample[l] = s, i
		}
		if len(top) < neighbours || s > top[len(top)-1].sim {
			top = append(top, knnHit{i, s})
			sort.Slice(top, func(a, b int) bool { return top[a].sim > top[b].sim })
			if len(top) > neighbours {
				top = top[:neighbours]
			}
		}
	}
	return top, bestByLabel, bestExample
}

// vote returns the label whose hits have the largest summed similarity,
// the lowest label on a tie.
func (ix *exampleIndex) vote(top []knnHit) int {
	votes := make([]float64, len(ix.labels))
	for _, h := range top {
		votes[ix.examples[h.ex].label] += h.sim
	}
	win := 0
	for l := range votes {
		if votes[l] > votes[win] {
			win = l
		}
	}
	return win
}

func (m knnMatch) evidence() string {
	return "example: " + strings.TrimSpace(m.example)
}
