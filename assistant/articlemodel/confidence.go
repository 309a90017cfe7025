package articlemodel

import (
	"math"
	"sort"

	"github.com/relais-ai/relais/knowledge"
)

// How many nearest examples the evidence reads (ExamplesFetched: what a
// search for a message asks for) and how many of them vote (ExampleVoters).
// Five neighbours outvote one mislabelled or unusual example without
// reaching into the next topic over.
const (
	ExampleVoters   = 5
	ExamplesFetched = 10
)

// Candidate is an article considered for the answer, with its evidence.
type Candidate struct {
	ArticleID   string  `json:"article_id"`
	Title       string  `json:"title"`
	Score       float64 `json:"score"`        // the combined evidence the candidates were ranked by
	ArticleSim  float64 `json:"article_sim"`  // best cosine of the article's chunks
	TextRank    int     `json:"text_rank"`    // full-text rank (0 = no match)
	ExampleSim  float64 `json:"example_sim"`  // best cosine of an example labelled with it
	ExampleVote float64 `json:"example_vote"` // its share of the nearest examples' weighted vote
	ClassProb   float64 `json:"class_prob"`   // the classifier's probability (0 without one)
}

// Evidence is what retrieval says about a message, reduced to the ranked
// candidate articles and the pull towards a handoff.
type Evidence struct {
	candidates  []Candidate // best first
	handoffSim  float64     // best similarity of a handoff example
	handoffVote float64     // the handoff examples' share of the vote
	hasExamples bool
	articleTop  string // the best article by article evidence alone
	exampleTop  string // the label with the highest vote ("" = handoff)
	// The classifier's view, when a calibrated one is in force.
	hasClass     bool
	classHandoff float64 // probability that the message needs a person
	classTop     string  // the most probable label ("" = handoff)
}

// classifierCandidate is the probability above which the classifier's
// labels are candidates even when retrieval did not bring them up.
const classifierCandidate = 0.05

// gatherEvidence ranks candidate articles by combining the article hits
// (their best chunk's similarity) with the nearest labelled examples (their
// similarity and vote) and, when a classifier was trained on them, its
// probabilities (class, by label; nil without one). Examples are the
// strongest signal when a team has history (DESIGN.md section 7); without
// them the articles alone decide.
func gatherEvidence(res knowledge.SearchResult, class map[string]float64) Evidence {
	var ev Evidence
	cs := candidateSet{}
	ev.addArticleHits(cs, res.Hits)
	ev.addExamples(cs, res.Examples)
	ev.addClassifier(cs, class)
	ev.rankCandidates(cs, class)
	return ev
}

// candidateSet holds the candidate articles by external id as the evidence
// names them.
type candidateSet map[string]*Candidate

// get returns the candidate of article id, added on first mention; title,
// when the first mention had none, fills it in.
func (cs candidateSet) get(id, title string) *Candidate {
	c, ok := cs[id]
	if !ok {
		c = &Candidate{ArticleID: id, Title: title}
		cs[id] = c
	}
	if c.Title == "" {
		c.Title = title
	}
	return c
}

// addArticleHits makes every article retrieval found a candidate, with its
// best similarity and full-text rank, and notes the most similar one.
func (ev *Evidence) addArticleHits(cs candidateSet, hits []knowledge.Hit) {
	bestArticle := -1.0
	for _, h := range hits {
		c := cs.get(h.Article.ExternalID, h.Article.Title)
		if h.VectorScore > c.ArticleSim { // false for NaN, which is no evidence
			c.ArticleSim = h.VectorScore
		}
		if c.TextRank == 0 || (h.TextRank > 0 && h.TextRank < c.TextRank) {
			c.TextRank = h.TextRank
		}
		if h.VectorScore > bestArticle {
			bestArticle = h.VectorScore
			ev.articleTop = h.Article.ExternalID
		}
	}
}

// addExamples weighs the nearest labelled examples (the first
// ExamplesFetched): each one's article becomes a candidate with its
// closest example's similarity, a handoff example pulls towards a person,
// and the first ExampleVoters vote by similarity.
func (ev *Evidence) addExamples(cs candidateSet, examples []knowledge.ExampleMatch) {
	if len(examples) > ExamplesFetched {
		examples = examples[:ExamplesFetched]
	}
	ev.hasExamples = len(examples) > 0
	votes := make(map[string]float64)
	total := 0.0
	for i, m := range examples {
		sim := m.Score
		if !(sim > 0) { // negative, or NaN from a degenerate vector
			sim = 0
		}
		if m.ArticleID == knowledge.HandoffLabel {
			ev.handoffSim = math.Max(ev.handoffSim, sim)
		} else {
			c := cs.get(m.ArticleID, "")
			c.ExampleSim = math.Max(c.ExampleSim, sim)
		}
		if i < ExampleVoters {
			votes[m.ArticleID] += sim
			total += sim
		}
	}
	if total == 0 {
		return
	}
	best := -1.0
	for label, v := range votes {
		share := v / total
		if label == knowledge.HandoffLabel {
			ev.handoffVote = share
		} else {
			cs[label].ExampleVote = share
		}
		if share > best || (share == best && label < ev.exampleTop) {
			best, ev.exampleTop = share, label
		}
	}
}

// addClassifier records the classifier's view (class, by label; nil without
// a classifier): its most probable label, the probability that a person is
// needed, and its likely articles as candidates.
func (ev *Evidence) addClassifier(cs candidateSet, class map[string]float64) {
	if len(class) == 0 {
		return
	}
	ev.hasClass = true
	ev.classHandoff = class[knowledge.HandoffLabel]
	best, bestArticle, topArticle := -1.0, -1.0, ""
	for label, p := range class {
		if math.IsNaN(p) {
			continue
		}
		if p > best || (p == best && label < ev.classTop) {
			best, ev.classTop = p, label
		}
		if label == knowledge.HandoffLabel {
			continue
		}
		if p > bestArticle || (p == bestArticle && label < topArticle) {
			bestArticle, topArticle = p, label
		}
		if p >= classifierCandidate {
			cs.get(label, "")
		}
	}
	// The classifier's best article is always a candidate, however
	// unlikely: the best candidate, ranked by its probability, is then the
	// classifier's whatever retrieval brought up, and so is the decision,
	// on either store.
	if topArticle != "" {
		cs.get(topArticle, "")
	}
}

// rankCandidates scores every candidate and orders them, best first (ties
// by article id).
func (ev *Evidence) rankCandidates(cs candidateSet, class map[string]float64) {
	for id, c := range cs {
		c.Score = math.Max(c.ArticleSim, c.ExampleSim)
		if ev.hasExamples {
			// The vote separates neighbouring topics that similarity alone
			// cannot: four close examples of one article beat one slightly
			// closer example of another.
			c.Score *= 0.5 + 0.5*c.ExampleVote
		}
		if ev.hasClass {
			// The classifier learnt from the same phrasings and examples
			// retrieval finds, and which words decide between the topics:
			// its probability ranks; similarity stays a feature of the
			// confidence model.
			c.ClassProb = class[id]
			c.Score = c.ClassProb
		}
		ev.candidates = append(ev.candidates, *c)
	}
	sort.Slice(ev.candidates, func(i, j int) bool {
		a, b := ev.candidates[i], ev.candidates[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		return a.ArticleID < b.ArticleID
	})
}

// rankedEvidence is gatherEvidence with the candidates re-ranked for the
// customer's language (lang): what Decide weighs, and what calibration
// replays.
func rankedEvidence(res knowledge.SearchResult, class map[string]float64, lang string) Evidence {
	ev := gatherEvidence(res, class)
	ev.preferLanguage(lang, res)
	return ev
}

// Candidates returns the candidate articles, best first: the first is what
// an answer cites.
func (ev Evidence) Candidates() []Candidate { return ev.candidates }

// languagePenalty scales the score of an article written in another
// language than the customer's: when the knowledge base has the answer in
// both, the customer gets it in theirs; when it has it only in the other
// language, that article still wins over weaker ones.
const languagePenalty = 0.9

// preferLanguage re-ranks the candidates so that articles in lang come
// first among near-equals. Articles or messages of unknown language are
// left as they are.
func (ev *Evidence) preferLanguage(lang string, res knowledge.SearchResult) {
	if lang == "" {
		return
	}
	langOf := make(map[string]string, len(res.Hits))
	for _, h := range res.Hits {
		langOf[h.Article.ExternalID] = h.Article.Language
	}
	changed := false
	for i := range ev.candidates {
		if l := langOf[ev.candidates[i].ArticleID]; l != "" && l != lang {
			ev.candidates[i].Score *= languagePenalty
			changed = true
		}
	}
	if changed {
		sort.SliceStable(ev.candidates, func(i, j int) bool { return ev.candidates[i].Score > ev.candidates[j].Score })
	}
}

// Names of the confidence model's features, in order. They are stored with
// a calibration, so a model fitted on other features is detected.
var featureNames = []string{
	"score",         // the best candidate's combined score
	"vote",          // its share of the examples' vote
	"margin",        // its score minus the runner-up's (or the handoff pull)
	"handoff_vote",  // the handoff examples' share of the vote
	"handoff_sim",   // the closest handoff example
	"article_sim",   // its article-side similarity
	"example_sim",   // its closest example
	"text_top",      // 1 when it is also the best full-text match
	"agree",         // 1 when article and example evidence pick it both
	"class_prob",    // the classifier's probability for it
	"class_top",     // 1 when it is the classifier's most probable label
	"class_handoff", // the classifier's probability that a person is needed
	"class_logit",   // log-odds of class_prob: tells 0.99 from 0.9999
}

// features describes the best candidate for the confidence model. It
// returns nil when there is no candidate.
func (ev Evidence) features() []float64 {
	if len(ev.candidates) == 0 {
		return nil
	}
	c := ev.candidates[0]
	runnerUp := ev.handoffSim
	if ev.hasExamples {
		runnerUp *= 0.5 + 0.5*ev.handoffVote
	}
	if ev.hasClass {
		runnerUp = (runnerUp + ev.classHandoff) / 2 // scored as a candidate would be
	}
	if len(ev.candidates) > 1 {
		runnerUp = math.Max(runnerUp, ev.candidates[1].Score)
	}
	textTop, agree := 0.0, 0.0
	if c.TextRank == 1 {
		textTop = 1
	}
	if c.ArticleID == ev.articleTop && (!ev.hasExamples || c.ArticleID == ev.exampleTop) {
		agree = 1
	}
	classTop := 0.0
	if ev.hasClass && c.ArticleID == ev.classTop {
		classTop = 1
	}
	return []float64{c.Score, c.ExampleVote, c.Score - runnerUp, ev.handoffVote, ev.handoffSim,
		c.ArticleSim, c.ExampleSim, textTop, agree, c.ClassProb, classTop, ev.classHandoff, logit(c.ClassProb)}
}

// heuristicConfidence is the confidence used before Relais has calibrated
// itself: the best candidate's score, pulled down by the margin it lacks
// over the runner-up. It is comparable with the default threshold only.
func (ev Evidence) heuristicConfidence() float64 {
	f := ev.features()
	if f == nil {
		return 0
	}
	score, margin := f[0], f[2]
	if ev.hasExamples {
		// score already carries the vote; a weak margin means the examples
		// are split.
		return clamp01(score - 0.5*math.Max(0, 0.1-margin))
	}
	return clamp01(score - 0.5*math.Max(0, 0.05-margin))
}

// logit is the log-odds of p, bounded so that a probability of 0 or 1
// stays a finite feature.
func logit(p float64) float64 {
	const eps = 1e-6
	p = math.Min(1-eps, math.Max(eps, p))
	return math.Log(p / (1 - p))
}

func clamp01(x float64) float64 { return math.Min(1, math.Max(0, x)) }

// LogisticModel maps features to the probability that answering with the
// best candidate is right. Features are standardised with Mean and Scale
// before the weights apply.
type LogisticModel struct {
	Weights []float64
	Bias    float64
	Mean    []float64
	Scale   []float64
}

// Predict returns the probability for one feature vector.
func (m LogisticModel) Predict(f []float64) float64 {
	z := m.Bias
	for i, w := range m.Weights {
		z += w * (f[i] - m.Mean[i]) / m.Scale[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// fitLogistic fits a logistic regression with a small L2 penalty by
// Newton's method: with a handful of features it converges in a few
// iterations and needs no learning rate.
func fitLogistic(xs [][]float64, ys []bool, l2 float64) LogisticModel {
	n, d := len(xs), len(featureNames)
	m := LogisticModel{Weights: make([]float64, d), Mean: make([]float64, d), Scale: make([]float64, d)}
	m.standardise(xs)
	z := m.designMatrix(xs)
	beta := make([]float64, d+1)
	for iter := 0; iter < 25; iter++ {
		grad, hess := newtonSystem(z, ys, beta)
		for k := 1; k <= d; k++ { // no penalty on the bias
			grad[k] += l2 * float64(n) * beta[k]
			hess[k][k] += l2 * float64(n)
		}
		mirrorLower(hess)
		step, ok := solve(hess, grad)
		if !ok {
			break
		}
		if newtonStep(beta, step) < 1e-7 {
			break
		}
	}
	m.Bias = beta[0]
	copy(m.Weights, beta[1:])
	return m
}

// standardise sets m.Mean and m.Scale to each feature's mean and standard
// deviation over xs.
func (m *LogisticModel) standardise(xs [][]float64) {
	n := len(xs)
	for j := range m.Mean {
		var sum, sq float64
		for _, x := range xs {
			sum += x[j]
		}
		m.Mean[j] = sum / float64(n)
		for _, x := range xs {
			sq += (x[j] - m.Mean[j]) * (x[j] - m.Mean[j])
		}
		m.Scale[j] = math.Sqrt(sq / float64(n))
		if m.Scale[j] < 1e-9 {
			m.Scale[j] = 1 // a constant feature: its weight stays near 0
		}
	}
}

// designMatrix returns the standardised rows of xs, each led by a 1 for
// the bias.
func (m LogisticModel) designMatrix(xs [][]float64) [][]float64 {
	d := len(m.Mean)
	z := make([][]float64, len(xs))
	for i, x := range xs {
		z[i] = make([]float64, d+1)
		z[i][0] = 1
		for j := 0; j < d; j++ {
			z[i][j+1] = (x[j] - m.Mean[j]) / m.Scale[j]
		}
	}
	return z
}

// newtonSystem returns the gradient of the unpenalised negative
// log-likelihood at beta and the lower triangle of its Hessian.
func newtonSystem(z [][]float64, ys []bool, beta []float64) ([]float64, [][]float64) {
	grad := make([]float64, len(beta))
	hess := make([][]float64, len(beta))
	for k := range hess {
		hess[k] = make([]float64, len(beta))
	}
	for i := range z {
		var dot float64
		for k, v := range z[i] {
			dot += beta[k] * v
		}
		p := 1 / (1 + math.Exp(-dot))
		y := 0.0
		if ys[i] {
			y = 1
		}
		w := math.Max(p*(1-p), 1e-9)
		for k, v := range z[i] {
			grad[k] += (p - y) * v
			for l := 0; l <= k; l++ {
				hess[k][l] += w * v * z[i][l]
			}
		}
	}
	return grad, hess
}

// mirrorLower copies the lower triangle of the square matrix a onto its
// upper triangle.
func mirrorLower(a [][]float64) {
	for k := range a {
		for l := k + 1; l < len(a); l++ {
			a[k][l] = a[l][k]
		}
	}
}

// newtonStep subtracts step from beta and returns the largest absolute
// component of step.
func newtonStep(beta, step []float64) float64 {
	maxStep := 0.0
	for k := range beta {
		beta[k] -= step[k]
		maxStep = math.Max(maxStep, math.Abs(step[k]))
	}
	return maxStep
}

// solve solves a x = b by Gaussian elimination with partial pivoting.
func solve(a [][]float64, b []float64) ([]float64, bool) {
	n := len(b)
	m := make([][]float64, n)
	for i := range a {
		m[i] = append(append([]float64{}, a[i]...), b[i])
	}
	for col := 0; col < n; col++ {
		pivot := col
		for r := col + 1; r < n; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[pivot][col]) {
				pivot = r
			}
		}
		if math.Abs(m[pivot][col]) < 1e-12 {
			return nil, false
		}
		m[col], m[pivot] = m[pivot], m[col]
		for r := col + 1; r < n; r++ {
			f := m[r][col] / m[col][col]
			for c := col; c <= n; c++ {
				m[r][c] -= f * m[col][c]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := m[r][n]
		for c := r + 1; c < n; c++ {
			s -= m[r][c] * x[c]
		}
		x[r] = s / m[r][r]
	}
	return x, true
}
