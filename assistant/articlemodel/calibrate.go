package articlemodel

import (
	"cmp"
	"context"
	"fmt"
	"gonum.org/v1/gonum/stat/distuv"
	"hash/fnv"
	"log/slog"
	"maps"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/language"
)

// MinCalibrationExamples is the fewest examples a calibration is estimated
// from; below it there is none, the assistant's default threshold applies and
// its trace says so. At 2% wrong answers, fewer than a hundred examples
// cannot tell 1% from 4%.
const MinCalibrationExamples = 100

// ErrTooFewExamples: calibration needs MinCalibrationExamples examples.
var ErrTooFewExamples = fmt.Errorf("too few examples to calibrate from (need %d): %w", MinCalibrationExamples, relais.ErrInvalid)

// CalibrationMethod names how a calibration was made; it is stored with it.
const CalibrationMethod = "tfidf-logistic-v3"

// ExampleSource lists stored examples with their embeddings.
type ExampleSource interface {
	Examples(ctx context.Context, afterID int64, limit int) ([]knowledge.Example, error)
}

// VectorSearcher searches with an embedded query. knowledge.Searcher
// implements it.
type VectorSearcher interface {
	SearchVector(ctx context.Context, query string, vec []float32, opts knowledge.SearchOptions) (knowledge.SearchResult, error)
}

// ArticleSource lists the articles and their chunks, whose short phrasings
// the classifier learns from besides the examples. knowledge.Store
// implements it.
type ArticleSource interface {
	Articles(ctx context.Context, opts knowledge.ListOptions) ([]knowledge.Article, error)
	Chunks(ctx context.Context, articleID int64) ([]knowledge.Chunk, error)
}

// Calibrator estimates, from the stored examples, the confidence model and
// the threshold that keeps wrong answers under MaxWrongRate (DESIGN.md
// section 8), and trains the classifier the confidence model relies on.
// Every example is treated as a customer message the assistant has never
// seen: its neighbours are the other examples (never itself, nor any
// example with the same words), its classifier one trained without its
// fold, its articles come from the store. The model is fitted and the
// threshold chosen on out-of-fold predictions, so the estimate is an honest
// one.
type Calibrator struct {
	Examples ExampleSource
	Searcher VectorSearcher
	// Articles, when set, adds the articles' own short phrasings (titles,
	// alternative questions, one-line variants) to what the classifier
	// learns from.
	Articles     ArticleSource
	MaxWrongRate float64 // default DefaultMaxWrongRate
	Folds        int     // default 5
	Logger       *slog.Logger
	Now          func() time.Time
	// Progress, when set, is called as examples are scored.
	Progress func(done, total int)
}

// Disagreement is an example the calibration's replay answered otherwise
// than its label says: with another article, or at all when the label asks
// for a person. The most confident ones are what holds the threshold up.
// Each is often a wrong label, articles customers cannot tell apart, or a
// message needing a person that reads like one an article answers; fixing
// them (the label, the articles, or more such examples) lets the assistant
// answer more.
type Disagreement struct {
	Text       string  `json:"text"`
	Label      string  `json:"label"`      // the example's article, or "" for a person
	Answer     string  `json:"answer"`     // the article it would cite if it answered
	Confidence float64 `json:"confidence"` // out of fold, as the threshold saw it
}

// CalibrationResult is a calibration, and what a knowledge manager should
// look at to improve it.
type CalibrationResult struct {
	knowledge.Calibration
	// Disagreements lists the examples answered wrongly, the most
	// confident first, at most MaxDisagreements of them.
	Disagreements []Disagreement
}

// MaxDisagreements bounds CalibrationResult.Disagreements.
const MaxDisagreements = 10

// Bounds on what the classifier learns from the articles: phrasings are
// short; long passages are answers, not questions.
const (
	maxPhrasingRunes = 300
	maxPhrasings     = 50_000
)

// DefaultMaxWrongRate is the wrong-answer rate Relais aims at unless told
// otherwise (RELAIS_MAX_WRONG_RATE, DESIGN.md section 8): calibration keeps
// the estimated rate under it, and evals report against it.
const DefaultMaxWrongRate = 0.02

// Calibrate computes a calibration. It returns ErrTooFewExamples when there
// are fewer than MinCalibrationExamples examples.
func (c *Calibrator) Calibrate(ctx context.Context) (CalibrationResult, error) {
	started := time.Now()
	target, folds := c.settings()
	examples, phrasings, err := c.read(ctx)
	if err != nil {
		return CalibrationResult{}, err
	}
	fold := make([]int, len(examples))
	for i, e := range examples {
		fold[i] = calibrationFold(e.Text, folds)
	}
	training := newClassifierTraining(examples, phrasings, fold)
	if training.labels == nil && c.Logger != nil {
		c.Logger.WarnContext(ctx, "calibrate: too many articles to train a classifier on; calibrating without one",
			"examples", len(examples), "phrasings", len(phrasings))
	}
	class, penalty, err := training.outOfFold(ctx, examples, folds)
	if err != nil {
		return CalibrationResult{}, err
	}
	r, err := c.replay(ctx, examples, fold, class)
	if err != nil {
		return CalibrationResult{}, err
	}
	// With a classifier, its out-of-fold probability for the article it
	// would answer with is the confidence: fitted by cross-validated
	// likelihood, it is already a probability of being right. Without
	// one, the confidence model turns the retrieval evidence into one.
	oof := r.classConf
	if training.labels == nil {
		oof = outOfFoldConfidence(r.features, r.right, r.fold, folds)
	}
	threshold, resolution, wrongRate := chooseThreshold(oof, r.right, countAnswerable(examples), target)
	for i, at := range r.wrongAt {
		r.wrong[i].Confidence = oof[at]
	}
	encoded, err := training.encodedClassifier(ctx, penalty)
	if err != nil {
		return CalibrationResult{}, err
	}
	cal := knowledge.Calibration{
		Threshold:           threshold,
		MaxWrongRate:        target,
		Samples:             len(r.features),
		Examples:            len(examples),
		EstimatedResolution: resolution,
		EstimatedWrongRate:  wrongRate,
		Model:               fitLogistic(r.features, r.right, 1e-3).Params(),
		Classifier:          encoded,
		Method:              CalibrationMethod,
		CreatedAt:           c.now().UTC(),
	}
	if c.Logger != nil {
		c.Logger.InfoContext(ctx, "calibrated", "examples", len(examples), "phrasings", len(phrasings),
			"classifier_c", penalty, "threshold", threshold, "estimated_resolution", resolution, "estimated_wrong_rate", wrongRate, "took", time.Since(started).Round(time.Millisecond))
	}
	return CalibrationResult{Calibration: cal, Disagreements: mostConfident(r.wrong, MaxDisagreements)}, nil
}

// settings returns the wrong-answer target and the number of folds, with
// their defaults.
func (c *Calibrator) settings() (target float64, folds int) {
	target, folds = c.MaxWrongRate, c.Folds
	if target <= 0 {
		target = DefaultMaxWrongRate
	}
	if folds < 2 {
		folds = 5
	}
	return target, folds
}

// read returns the examples to calibrate from, ErrTooFewExamples when they
// are fewer than MinCalibrationExamples, and the articles' phrasings.
func (c *Calibrator) read(ctx context.Context) (examples, phrasings []knowledge.Example, err error) {
	if examples, err = c.readExamples(ctx); err != nil {
		return nil, nil, err
	}
	if len(examples) < MinCalibrationExamples {
		return nil, nil, ErrTooFewExamples
	}
	if phrasings, err = c.readPhrasings(ctx); err != nil {
		return nil, nil, err
	}
	return examples, phrasings, nil
}

func (c *Calibrator) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// classifierTraining is what a calibration's classifiers learn from: the
// articles' phrasings, and the examples outside the fold held out. The
// labels they tell apart are every labelled article and handoff.
type classifierTraining struct {
	labels    []string // none: no classifier (one label, or too much to train)
	phrasings []textSample
	examples  []textSample
	fold      []int // each example's fold
}

// maxClassifierWork bounds labels × training samples for one classifier:
// every gradient step touches every label's weights, so a knowledge base
// of thousands of articles would train for hours. Past it the phrasings of
// articles no example is labelled with are left out, and past it again the
// calibration goes without a classifier, as the confidence model can.
// Knowledge bases of a few hundred articles stay well within it.
const maxClassifierWork = 1_000_000

func newClassifierTraining(examples, phrasings []knowledge.Example, fold []int) *classifierTraining {
	labelled := map[string]bool{knowledge.HandoffLabel: true}
	for _, e := range examples {
		labelled[e.ArticleID] = true
	}
	ids := maps.Clone(labelled)
	for _, p := range phrasings {
		ids[p.ArticleID] = true
	}
	if len(ids)*(len(examples)+len(phrasings)) > maxClassifierWork {
		ids = labelled
		phrasings = slices.DeleteFunc(slices.Clone(phrasings), func(p knowledge.Example) bool { return !labelled[p.ArticleID] })
	}
	labels, index := labelIndex(ids)
	if len(labels) < 2 || len(labels)*(len(examples)+len(phrasings)) > maxClassifierWork {
		labels = nil
	}
	samples := func(es []knowledge.Example) []textSample {
		out := make([]textSample, len(es))
		for i, e := range es {
			out[i] = textSample{text: e.Text, label: index[e.ArticleID]}
		}
		return out
	}
	return &classifierTraining{labels: labels, phrasings: samples(phrasings), examples: samples(examples), fold: fold}
}

// samples returns the phrasings and the examples outside fold skip (all of
// them when skip < 0).
func (t *classifierTraining) samples(skip int) []textSample {
	out := append(make([]textSample, 0, len(t.phrasings)+len(t.examples)), t.phrasings...)
	for i, s := range t.examples {
		if t.fold[i] != skip {
			out = append(out, s)
		}
	}
	return out
}

// train fits the classifier on the phrasings and every example with
// penalty c.
func (t *classifierTraining) train(ctx context.Context, c float64) (*Classifier, error) {
	m, err := trainClassifier(ctx, t.labels, t.samples(-1), c)
	if err != nil {
		return nil, fmt.Errorf("calibrate: train classifier: %w", err)
	}
	return m, nil
}

// encodedClassifier trains the classifier on everything with penalty c
// and encodes it for the calibration; nil when there is only one label to
// tell.
func (t *classifierTraining) encodedClassifier(ctx context.Context, c float64) ([]byte, error) {
	if t.labels == nil {
		return nil, nil
	}
	classifier, err := t.train(ctx, c)
	if err != nil {
		return nil, err
	}
	encoded, err := classifier.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("calibrate: encode classifier: %w", err)
	}
	return encoded, nil
}

// outOfFold returns each example's class probabilities from a classifier
// that did not see its fold, and the penalty, among classifierCs, whose
// out-of-fold probabilities gave the labels the highest likelihood: the
// regularisation is chosen by cross-validation on the same folds. For each
// fold the penalties are tried from the strongest to the weakest, each
// starting from the solution of the one before; the folds train in
// parallel.
func (t *classifierTraining) outOfFold(ctx context.Context, examples []knowledge.Example, folds int) ([]map[string]float64, float64, error) {
	if t.labels == nil {
		return make([]map[string]float64, len(examples)), 0, nil
	}
	byC := make([][]map[string]float64, len(classifierCs))
	for ci := range byC {
		byC[ci] = make([]map[string]float64, len(examples))
	}
	// The folds train side by side, each on its own share of byC and loss.
	foldLoss := make([][]float64, folds)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for k := 0; k < folds; k++ {
		foldLoss[k] = make([]float64, len(classifierCs))
		g.Go(func() error {
			ts := newTrainingSet(t.labels, t.samples(k))
			var warm *Classifier
			for ci, c := range classifierCs {
				m, err := ts.fit(gctx, c, warm)
				if err != nil {
					return fmt.Errorf("calibrate: train classifier: %w", err)
				}
				warm = m
				for i, e := range examples {
					if t.fold[i] == k {
						p := m.Predict(e.Text)
						byC[ci][i] = p
						foldLoss[k][ci] -= math.Log(math.Max(p[e.ArticleID], 1e-12))
					}
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	loss := make([]float64, len(classifierCs))
	for _, fl := range foldLoss {
		for ci, l := range fl {
			loss[ci] += l
		}
	}
	best := 0
	for ci := range loss {
		if loss[ci] < loss[best] {
			best = ci
		}
	}
	return byC[best], classifierCs[best], nil
}

// replayed is what the calibration's replay of the examples gave: the
// confidence features of every example that had a candidate to answer
// with, whether that candidate was right, and the examples it was not.
type replayed struct {
	features  [][]float64
	classConf []float64 // the classifier's probability of each's best candidate
	right     []bool
	fold      []int // each feature vector's example's fold
	wrong     []Disagreement
	wrongAt   []int // the index in features of each of wrong
}

// replay answers every example as the assistant would a new customer
// message: its articles from the store, its neighbours among the other
// examples, its class probabilities (class) from outside its fold. The
// examples are searched side by side, one worker a core (retrieval is most
// of a calibration's time on a large knowledge base), and gathered in
// their order, so the result is the same however the work was shared.
func (c *Calibrator) replay(ctx context.Context, examples []knowledge.Example, fold []int, class []map[string]float64) (replayed, error) {
	near := newNeighbourIndex(examples)
	evs := make([]Evidence, len(examples))
	var (
		mu   sync.Mutex
		done int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, e := range examples {
		g.Go(func() error {
			res, err := c.Searcher.SearchVector(gctx, e.Text, e.Embedding, knowledge.SearchOptions{Limit: 5, Language: language.Detect(e.Text)})
			if err != nil {
				return fmt.Errorf("calibrate: search: %w", err)
			}
			res.Examples = near.neighbours(i, ExamplesFetched)
			evs[i] = rankedEvidence(res, class[i], e.Language)
			if c.Progress != nil {
				mu.Lock()
				done++
				c.Progress(done, len(examples))
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return replayed{}, err
	}
	var r replayed
	for i, e := range examples {
		ev := evs[i]
		f := ev.features()
		if f == nil {
			continue // nothing retrieved: never answered, so no evidence for the threshold
		}
		right := e.ArticleID != knowledge.HandoffLabel && ev.candidates[0].ArticleID == e.ArticleID
		if !right {
			r.wrong = append(r.wrong, Disagreement{Text: e.Text, Label: e.ArticleID, Answer: ev.candidates[0].ArticleID})
			r.wrongAt = append(r.wrongAt, len(r.features))
		}
		r.features = append(r.features, f)
		r.classConf = append(r.classConf, ev.candidates[0].ClassProb)
		r.right = append(r.right, right)
		r.fold = append(r.fold, fold[i])
	}
	return r, nil
}

// outOfFoldConfidence scores each feature vector with a confidence model
// fitted without its fold.
func outOfFoldConfidence(xs [][]float64, ys []bool, fold []int, folds int) []float64 {
	oof := make([]float64, len(xs))
	for k := 0; k < folds; k++ {
		var trX [][]float64
		var trY []bool
		for i := range xs {
			if fold[i] != k {
				trX, trY = append(trX, xs[i]), append(trY, ys[i])
			}
		}
		m := fitLogistic(trX, trY, 1e-3)
		for i := range xs {
			if fold[i] == k {
				oof[i] = m.Predict(xs[i])
			}
		}
	}
	return oof
}

// countAnswerable counts the examples labelled with an article.
func countAnswerable(examples []knowledge.Example) int {
	n := 0
	for _, e := range examples {
		if e.ArticleID != knowledge.HandoffLabel {
			n++
		}
	}
	return n
}

// mostConfident returns the n most confident of ds, the most confident
// first.
func mostConfident(ds []Disagreement, n int) []Disagreement {
	ds = slices.Clone(ds)
	slices.SortStableFunc(ds, func(a, b Disagreement) int { return cmp.Compare(b.Confidence, a.Confidence) })
	return ds[:min(n, len(ds))]
}

// readExamples reads every example that has an embedding.
func (c *Calibrator) readExamples(ctx context.Context) ([]knowledge.Example, error) {
	var examples []knowledge.Example
	var after int64
	for {
		page, err := c.Examples.Examples(ctx, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("calibrate: read examples: %w", err)
		}
		for _, e := range page {
			if len(e.Embedding) > 0 {
				examples = append(examples, e)
			}
		}
		if len(page) < 1000 {
			return examples, nil
		}
		after = page[len(page)-1].ID
	}
}

// readPhrasings returns the articles' short phrasings as examples of
// their article: the title, the question chunks (the alternative questions
// an FAQ lists), and every line of the body short enough to be a way of
// asking or a one-line answer; each text once per article.
func (c *Calibrator) readPhrasings(ctx context.Context) ([]knowledge.Example, error) {
	if c.Articles == nil {
		return nil, nil
	}
	var out []knowledge.Example
	const page = 500
	for offset := 0; len(out) < maxPhrasings; offset += page {
		articles, err := c.Articles.Articles(ctx, knowledge.ListOptions{Limit: page, Offset: offset})
		if err != nil {
			return nil, fmt.Errorf("calibrate: list articles: %w", err)
		}
		for _, a := range articles {
			chunks, err := c.Articles.Chunks(ctx, a.ID)
			if err != nil {
				return nil, fmt.Errorf("calibrate: read chunks of %q: %w", a.ExternalID, err)
			}
			texts := append([]string{a.Title}, strings.Split(a.Body, "\n")...)
			for _, ch := range chunks {
				if ch.Kind == knowledge.Question {
					texts = append(texts, ch.Text)
				}
			}
			seen := make(map[string]bool, len(texts))
			for _, text := range texts {
				text = strings.TrimSpace(text)
				if text == "" || seen[text] || utf8.RuneCountInString(text) > maxPhrasingRunes {
					continue
				}
				seen[text] = true
				out = append(out, knowledge.Example{Text: text, ArticleID: a.ExternalID})
			}
		}
		if len(articles) < page {
			break
		}
	}
	// Articles are listed in the order they were stored, which concurrent
	// imports make arbitrary; the classifier's training order must not be.
	sort.Slice(out, func(i, j int) bool {
		if out[i].ArticleID != out[j].ArticleID {
			return out[i].ArticleID < out[j].ArticleID
		}
		return out[i].Text < out[j].Text
	})
	if len(out) > maxPhrasings {
		out = out[:maxPhrasings]
	}
	return out, nil
}

// chooseThreshold picks the lowest threshold at which the wrong-answer rate
// among the answers is credibly within target: conf are out-of-fold
// confidences, correct whether answering each was right. It returns the
// threshold and the observed resolution and wrong rate there; a threshold
// above 1 (never answer) when no point qualifies. What qualifies is said
// by certified.
func chooseThreshold(conf []float64, correct []bool, answerable int, target float64) (threshold, resolution, wrongRate float64) {
	threshold = math.Nextafter(1, 2)
	nCorrect, nWrong := 0, 0
	expectedWrong := 0.0
	EachThreshold(conf, func(c float64, tied []int) {
		for _, i := range tied {
			expectedWrong += 1 - conf[i]
			if correct[i] {
				nCorrect++
			} else {
				nWrong++
			}
		}
		if answerable > 0 && certified(nCorrect+nWrong, nWrong, expectedWrong, target) {
			threshold = c
			resolution = float64(nCorrect) / float64(answerable)
			wrongRate = float64(nWrong) / float64(nCorrect+nWrong)
		}
	})
	return threshold, resolution, wrongRate
}

// certified tells whether answers whose wrong rate was observed as w wrong
// out of n, and which the classifier itself expected to be wrong
// expectedWrong times (the sum of 1 - confidence over them), are credibly
// within target. The wrong rate is uncertain, the more so the fewer the
// answers; two ways of weighing that uncertainty qualify.
//
// The answers alone: under a uniform prior the posterior of the rate is
// Beta(w + 1, n − w + 1), and it must put thresholdCredibility of its mass
// within target. That asks for some 80 answers without a mistake, more
// than a team with a few hundred examples has above any useful threshold.
//
// The answers with the classifier's own estimate: its out-of-fold
// probabilities are fitted by cross-validated likelihood, so their mean
// error over the answers is an informed first guess of the rate, taken as
// worth modelPriorWeight answers: the prior Beta(m·e, m·(1 − e)), updated
// to Beta(w + m·e, n − w + m·(1 − e)), must put thresholdCredibility of
// its mass within target. A classifier sure of itself and right then
// certifies a few dozen answers. But a sure classifier may be wrong about
// being right (on small or noisy sets it is overconfident), so on this way
// the answers must not contradict it: their own posterior median (uniform
// prior) must be within target too, and observed mistakes count in full.
func certified(n, w int, expectedWrong, target float64) bool {
	if n == 0 {
		return false
	}
	alone := credibleWithin(n, w, target)
	if alone >= thresholdCredibility {
		return true
	}
	if alone < 0.5 {
		return false
	}
	e := math.Min(1, math.Max(0, expectedWrong/float64(n)))
	// The small floor keeps both parameters positive when the classifier is
	// certain of every answer (e = 0) or of none (e = 1).
	const floor = 1e-3
	posterior := distuv.Beta{
		Alpha: float64(w) + modelPriorWeight*e + floor,
		Beta:  float64(n-w) + modelPriorWeight*(1-e) + floor,
	}
	return posterior.CDF(target) >= thresholdCredibility
}

// modelPriorWeight is how many answers the classifier's own estimate of
// its wrong rate is worth: enough to carry a small sample that agrees
// with it, few enough that a few hundred answers outweigh it.
const modelPriorWeight = 20

// thresholdCredibility is how sure calibration must be that the wrong rate
// is within target: four to one. An even bet (the posterior median) lets a
// threshold through as often as not where the rate is in fact just over,
// and the threshold is the lowest of many candidates, so it errs on the
// wrong side.
const thresholdCredibility = 0.8

// credibleWithin is the posterior probability that a rate is at most x
// after w failures in n trials, under a uniform prior: the probability
// that Beta(w + 1, n - w + 1) is at most x.
func credibleWithin(n, w int, x float64) float64 {
	if x >= 1 {
		return 1
	}
	if x <= 0 {
		return 0
	}
	return distuv.Beta{Alpha: float64(w) + 1, Beta: float64(n-w) + 1}.CDF(x)
}

// EachThreshold calls visit for every threshold a confidence gate can take
// over the confidences conf: each distinct one, the highest first, with the
// indices of the confidences tied at it, which no threshold can split. A
// NaN reads as 0 (never confident), so that grouping ties by equality
// always moves on. Calibration chooses its threshold this way, and evals
// sweep theirs.
func EachThreshold(conf []float64, visit func(threshold float64, tied []int)) {
	clean := make([]float64, len(conf))
	for i, c := range conf {
		if !math.IsNaN(c) {
			clean[i] = c
		}
	}
	idx := make([]int, len(clean))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return clean[idx[a]] > clean[idx[b]] })
	for k := 0; k < len(idx); {
		c, end := clean[idx[k]], k+1
		for end < len(idx) && clean[idx[end]] == c {
			end++
		}
		visit(c, idx[k:end])
		k = end
	}
}

// neighbourIndex finds an example's nearest other examples exactly. Hashing
// embeddings are sparse, so the other side of each dot product is kept as
// its non-zero entries.
type neighbourIndex struct {
	examples []knowledge.Example
	sparse   []sparseVec
	norms    []float64
	keys     []string
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

func newNeighbourIndex(examples []knowledge.Example) *neighbourIndex {
	ix := &neighbourIndex{examples: examples}
	for _, e := range examples {
		s := toSparse(e.Embedding)
		var norm float64
		for _, v := range s.val {
			norm += float64(v) * float64(v)
		}
		ix.sparse = append(ix.sparse, s)
		ix.norms = append(ix.norms, math.Sqrt(norm))
		ix.keys = append(ix.keys, sameWordsKey(e.Text))
	}
	return ix
}

// neighbours returns example i's k nearest examples by cosine, leaving out
// i itself and every example with the same words: those are the same
// message, which a new customer's message would not be.
func (ix *neighbourIndex) neighbours(i, k int) []knowledge.ExampleMatch {
	q := ix.examples[i].Embedding
	type scored struct {
		j   int
		sim float64
	}
	best := make([]scored, 0, k+1)
	for j, s := range ix.sparse {
		if j == i || ix.keys[j] == ix.keys[i] || ix.norms[j] == 0 || ix.norms[i] == 0 {
			continue
		}
		var dot float64
		for n, d := range s.idx {
			dot += float64(q[d]) * float64(s.val[n])
		}
		sim := dot / (ix.norms[i] * ix.norms[j])
		if len(best) < k || sim > best[len(best)-1].sim {
			pos := sort.Search(len(best), func(x int) bool { return best[x].sim < sim })
			best = append(best, scored{})
			copy(best[pos+1:], best[pos:])
			best[pos] = scored{j, sim}
			if len(best) > k {
				best = best[:k]
			}
		}
	}
	out := make([]knowledge.ExampleMatch, len(best))
	for n, b := range best {
		e := ix.examples[b.j]
		out[n] = knowledge.ExampleMatch{ExampleID: e.ID, ArticleID: e.ArticleID, Text: e.Text, Score: b.sim}
	}
	return out
}

// sameWordsKey identifies messages that differ only in case, digits and
// punctuation ("Order #123 is late" and "order 456 is late!").
func sameWordsKey(s string) string {
	var words []string
	for _, w := range language.Words(s) {
		if strings.Trim(w, "0123456789") != "" {
			words = append(words, strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return -1
				}
				return r
			}, w))
		}
	}
	return strings.Join(words, " ")
}

// FoldOf assigns a message to one of folds cross-validation folds by its
// words (case, digits and punctuation aside), so that copies of a message
// always share a fold: evals rely on it, as the shared and holdout splits of
// the eval sets are grouped the same way.
func FoldOf(text string, folds int) int {
	return int(wordsHash(text) % uint32(folds))
}

// calibrationFold is FoldOf for the calibration's own cross-validation,
// grouping copies the same way but drawn independently of it: an eval
// holds out FoldOf's fold k and calibrates on the rest, and calibration
// folds that followed FoldOf's would leave some of theirs empty, the
// cross-validation a fold short. The hash is mixed first: FNV's low bits
// alone would tie the two splits together whenever folds is even.
func calibrationFold(text string, folds int) int {
	x := wordsHash(text)
	// The finalizer of MurmurHash3: every input bit moves every output bit.
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	return int(x % uint32(folds))
}

func wordsHash(text string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(sameWordsKey(text)))
	return h.Sum32()
}

// Params is the model as a calibration stores it (knowledge.Calibration's
// Model map), keyed by feature name so that a model fitted on other features
// is refused rather than misread; modelFrom reads it back.
func (m LogisticModel) Params() map[string]float64 {
	out := map[string]float64{"bias": m.Bias}
	for i, name := range featureNames {
		out["w:"+name] = m.Weights[i]
		out["mean:"+name] = m.Mean[i]
		out["scale:"+name] = m.Scale[i]
	}
	return out
}

// modelFrom reads a model that Params stored; nil when params hold none, or
// one fitted on other features.
func modelFrom(params map[string]float64) *LogisticModel {
	if params == nil {
		return nil
	}
	bias, ok := params["bias"]
	if !ok {
		return nil
	}
	m := &LogisticModel{Bias: bias}
	for _, name := range featureNames {
		w, ok1 := params["w:"+name]
		mean, ok2 := params["mean:"+name]
		scale, ok3 := params["scale:"+name]
		if !ok1 || !ok2 || !ok3 || scale == 0 {
			return nil
		}
		m.Weights = append(m.Weights, w)
		m.Mean = append(m.Mean, mean)
		m.Scale = append(m.Scale, scale)
	}
	return m
}
