// Package evals measures how well Relais resolves questions: it runs labelled
// questions through the real assistant pipeline on an isolated store and
// reports the resolution rate, the wrong-answer rate and the escalations, with
// a threshold sweep, latency and the most frequent mistakes (DESIGN.md
// section 6). Every change to retrieval, fusion or calibration is judged by
// these numbers.
package evals

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/relais-ai/relais/assistant/articlemodel"
)

// Question is one labelled customer message of an eval set.
type Question struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Gold     []string `json:"gold_article_ids"`
	Expected string   `json:"expected"` // "answer" or "handoff"
}

// Answerable reports whether the question expects an answer.
func (q Question) Answerable() bool { return q.Expected == "answer" }

// IsGold reports whether articleID is one of the question's gold articles.
func (q Question) IsGold(articleID string) bool { return slices.Contains(q.Gold, articleID) }

// Outcome is what the pipeline did with one question.
type Outcome struct {
	Question Question
	Action   string // "answer", "reply" or "handoff"
	Reason   string
	Intent   string
	Cited    string // Sources[0] on an answer
	// Candidate is the best candidate article whatever the action, and
	// Confidence its confidence; Gateable is false when the decision never
	// reached the gate (smalltalk, a sensitive topic, a human request), so
	// no threshold would have answered it.
	Candidate  string
	Confidence float64
	Gateable   bool
	Latency    time.Duration
	Fold       int
	// Retrieved lists the top candidates with scores, for the report.
	Retrieved []Retrieved
	// JudgeVerdict is VerdictCorrect or VerdictIncorrect when a judge
	// graded the answer (see Runner.Judge), "" when none did; JudgeReason is
	// its explanation. JudgeError says why the judge gave no verdict, in
	// which case the offline verdict stands.
	JudgeVerdict string
	JudgeReason  string
	JudgeError   string
}

// Retrieved is one candidate the assistant considered.
type Retrieved struct {
	ArticleID string  `json:"article_id"`
	Score     float64 `json:"score"`
}

// Answered reports whether the outcome is an answer.
func (o Outcome) Answered() bool { return o.Action == "answer" }

// Correct reports whether the outcome answered with a gold article, and a
// judge, if one graded the answer, did not find it incorrect.
func (o Outcome) Correct() bool {
	return o.Answered() && o.Question.Answerable() && o.Question.IsGold(o.Cited) && o.JudgeVerdict != VerdictIncorrect
}

// Summary is the eval output of DESIGN.md section 6.
type Summary struct {
	Dataset          string  `json:"dataset"`
	Questions        int     `json:"questions"`
	Answerable       int     `json:"answerable"`
	HandoffExpected  int     `json:"handoff_expected"`
	Answered         int     `json:"answered"`
	HandedOff        int     `json:"handed_off"`
	Correct          int     `json:"correct"`
	Wrong            int     `json:"wrong"`
	ResolutionRate   float64 `json:"resolution_rate"`
	WrongAnswerRate  float64 `json:"wrong_answer_rate"`
	EscalationRecall float64 `json:"escalation_recall"`
	// Top1Rate is the share of the answerable questions whose best
	// candidate was a gold article, whatever the action: how well the
	// assistant ranks, apart from how sure it must be to answer.
	Top1Rate        float64            `json:"top1_rate"`
	Threshold       float64            `json:"threshold"`
	ThresholdSource string             `json:"threshold_source"`
	Latency         Latency            `json:"latency_ms"`
	ByReason        map[string]int     `json:"by_reason"`
	Sweep           []SweepPoint       `json:"sweep"`
	Best            map[string]SweepPt `json:"best_operating_points"`
	Confusions      []Confusion        `json:"confusions"`
	Folds           int                `json:"folds,omitempty"`
	Examples        int                `json:"examples"`
	// Calibrations lists the threshold each fold calibrated for itself.
	Calibrations []FoldCalibration `json:"calibrations,omitempty"`
	Duration     float64           `json:"duration_seconds"`
	// Judge names the model that graded the generated answers (Runner.Judge);
	// it and the counts below are absent when no judge ran. Judged counts
	// the answers it graded, JudgedIncorrect those it turned wrong, and
	// JudgeErrors those it could not grade (the cited article decided).
	Judge           string `json:"judge,omitempty"`
	Judged          int    `json:"judged,omitempty"`
	JudgedIncorrect int    `json:"judged_incorrect,omitempty"`
	JudgeErrors     int    `json:"judge_errors,omitempty"`
}

// Latency percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// SweepPoint is the result the pipeline would have had at one threshold.
type SweepPoint struct {
	Threshold        float64 `json:"threshold"`
	ResolutionRate   float64 `json:"resolution_rate"`
	WrongAnswerRate  float64 `json:"wrong_answer_rate"`
	EscalationRecall float64 `json:"escalation_recall"`
}

// SweepPt is a best operating point: the threshold with the most resolution
// at a wrong-answer rate no higher than a bound.
type SweepPt struct {
	MaxWrongRate float64 `json:"max_wrong_rate"`
	SweepPoint
}

// Confusion is a frequent wrong answer: expected gold (or "handoff"), what
// was cited, and how often.
type Confusion struct {
	Expected string `json:"expected"`
	Cited    string `json:"cited"`
	Count    int    `json:"count"`
}

// FoldCalibration is the threshold one fold used and where it came from.
type FoldCalibration struct {
	Fold                int     `json:"fold"`
	Threshold           float64 `json:"threshold"`
	Source              string  `json:"source"`
	Examples            int     `json:"examples"`
	EstimatedResolution float64 `json:"estimated_resolution"`
	EstimatedWrongRate  float64 `json:"estimated_wrong_rate"`
	// Disagreements are the examples the calibration answered wrongly, the
	// most confident first: what holds this fold's threshold up.
	Disagreements []articlemodel.Disagreement `json:"disagreements,omitempty"`
}

// Summarize computes the metrics of a run.
func Summarize(dataset string, outs []Outcome) Summary {
	s := Summary{Dataset: dataset, Questions: len(outs), ByReason: map[string]int{}}
	t := tally{confusions: map[[2]string]int{}}
	for _, o := range outs {
		t.latencies = append(t.latencies, o.Latency)
		s.countJudgement(o)
		s.countExpectation(o, &t)
		s.countAction(o, &t)
	}
	s.ResolutionRate = ratio(s.Correct, s.Answerable)
	s.Top1Rate = ratio(t.top1, s.Answerable)
	s.WrongAnswerRate = ratio(s.Wrong, s.Answered)
	s.EscalationRecall = ratio(t.notAnswered, s.HandoffExpected)
	s.Latency = percentiles(t.latencies)
	s.Sweep = Sweep(outs)
	s.Best = bestPoints(s.Sweep)
	s.Confusions = topConfusions(t.confusions)
	return s
}

// tally is what Summarize counts on its way through the outcomes that the
// Summary does not hold itself.
type tally struct {
	latencies   []time.Duration
	confusions  map[[2]string]int // wrong answers by {expected, cited}
	notAnswered int               // of the questions for a human
	top1        int               // answerable questions whose best candidate is gold
}

// countJudgement counts what the judge, if any, made of the outcome.
func (s *Summary) countJudgement(o Outcome) {
	switch {
	case o.JudgeError != "":
		s.JudgeErrors++
	case o.JudgeVerdict != "":
		s.Judged++
		if o.JudgeVerdict == VerdictIncorrect {
			s.JudgedIncorrect++
		}
	}
}

// countExpectation counts the outcome by what its question expected: an
// answer, or a human.
func (s *Summary) countExpectation(o Outcome, t *tally) {
	if o.Question.Answerable() {
		s.Answerable++
		if o.Candidate != "" && o.Question.IsGold(o.Candidate) {
			t.top1++
		}
		return
	}
	s.HandoffExpected++
	if !o.Answered() {
		t.notAnswered++
	}
}

// countAction counts the outcome by what the assistant did: answered (right
// or wrong), handed off, or something else.
func (s *Summary) countAction(o Outcome, t *tally) {
	switch {
	case o.Answered():
		s.Answered++
		if o.Correct() {
			s.Correct++
		} else {
			s.Wrong++
			t.confusions[confusionKey(o)]++
		}
	case o.Action == "handoff":
		s.HandedOff++
		s.ByReason[o.Reason]++
	default:
		s.ByReason[o.Action+":"+o.Intent]++
	}
}

// confusionKey is the {expected, cited} pair a wrong answer is counted under.
func confusionKey(o Outcome) [2]string {
	expected := "handoff"
	if o.Question.Answerable() {
		expected = o.Question.Gold[0]
	}
	cited := o.Cited
	if o.JudgeVerdict == VerdictIncorrect {
		// Cited right, said wrong: not an article mix-up.
		cited += " (judged incorrect)"
	}
	return [2]string{expected, cited}
}

// bestPoints is Summary.Best: the best operating point of the sweep under
// each of bestBounds that one exists for.
func bestPoints(sweep []SweepPoint) map[string]SweepPt {
	best := map[string]SweepPt{}
	for _, bound := range bestBounds {
		if p, ok := BestUnder(sweep, bound); ok {
			best[boundKey(bound)] = SweepPt{MaxWrongRate: bound, SweepPoint: p}
		}
	}
	return best
}

// topConfusions lists the 15 most frequent mistakes, the most frequent
// first, ties in name order.
func topConfusions(counts map[[2]string]int) []Confusion {
	var out []Confusion
	for k, n := range counts {
		out = append(out, Confusion{Expected: k[0], Cited: k[1], Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Expected+a.Cited < b.Expected+b.Cited
	})
	if len(out) > 15 {
		out = out[:15]
	}
	return out
}

// bestBounds are the wrong-answer rates Summary.Best holds an operating
// point for, and the report draws: production's default target first.
var bestBounds = []float64{articlemodel.DefaultMaxWrongRate, 0.05}

func boundKey(b float64) string { return fmt.Sprintf("wrong<=%g%%", 100*b) }

// Sweep recomputes the metrics at every distinct confidence among the
// questions that reached the gate: what the run would have given with that
// threshold and everything else the same.
func Sweep(outs []Outcome) []SweepPoint {
	type item struct {
		correct bool
		answer  bool // expected answer
	}
	var items []item
	var conf []float64
	answerable, handoffExpected := 0, 0
	alwaysCorrect, alwaysWrong := 0, 0
	for _, o := range outs {
		if o.Question.Answerable() {
			answerable++
		} else {
			handoffExpected++
		}
		if !o.Gateable {
			// Not decided by the gate: what it did stays whatever the
			// threshold (answers here come from nowhere, but count them).
			if o.Answered() {
				if o.Correct() {
					alwaysCorrect++
				} else {
					alwaysWrong++
				}
			}
			continue
		}
		// An answer the judge found incorrect stays so at any threshold
		// that answers it: the same model would write it.
		correct := o.Question.Answerable() && o.Question.IsGold(o.Candidate) && o.JudgeVerdict != VerdictIncorrect
		items = append(items, item{correct, o.Question.Answerable()})
		conf = append(conf, o.Confidence)
	}
	var points []SweepPoint
	correct, wrong, handoffAnswered := alwaysCorrect, alwaysWrong, 0
	articlemodel.EachThreshold(conf, func(c float64, tied []int) {
		for _, i := range tied {
			if items[i].correct {
				correct++
			} else {
				wrong++
			}
			if !items[i].answer {
				handoffAnswered++
			}
		}
		points = append(points, SweepPoint{
			Threshold:        c,
			ResolutionRate:   ratio(correct, answerable),
			WrongAnswerRate:  ratio(wrong, correct+wrong),
			EscalationRecall: 1 - ratio(handoffAnswered, handoffExpected),
		})
	})
	return thin(points, 200)
}

// thin keeps at most n points, evenly spread, always keeping the first and
// the last, so that reports stay small on large sets.
func thin(points []SweepPoint, n int) []SweepPoint {
	if len(points) <= n {
		return points
	}
	out := make([]SweepPoint, 0, n)
	step := float64(len(points)-1) / float64(n-1)
	for i := 0; i < n; i++ {
		out = append(out, points[int(math.Round(float64(i)*step))])
	}
	return out
}

// BestUnder returns the sweep point with the highest resolution whose
// wrong-answer rate is at most bound.
func BestUnder(points []SweepPoint, bound float64) (SweepPoint, bool) {
	var best SweepPoint
	found := false
	for _, p := range points {
		if p.WrongAnswerRate <= bound && (!found || p.ResolutionRate > best.ResolutionRate) {
			best, found = p, true
		}
	}
	return best, found
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func percentiles(lat []time.Duration) Latency {
	if len(lat) == 0 {
		return Latency{}
	}
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		i = max(0, min(i, len(s)-1))
		return float64(s[i].Microseconds()) / 1000
	}
	return Latency{P50: at(0.50), P95: at(0.95), P99: at(0.99)}
}
