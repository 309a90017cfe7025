package evals

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/relais-ai/relais/assistant/articlemodel"
)

// Report is the --json output of a run: the summary of DESIGN.md section 6
// under "summary" and every question's outcome under "questions".
type Report struct {
	Summary  Summary   `json:"summary"`
	Outcomes []Outcome `json:"questions"`
}

// OutcomeJSON is the wire form of an Outcome. It is a separate struct so that
// the field names stay stable whatever Outcome becomes, and so that latency
// is written in milliseconds like every other latency of the eval output
// (time.Duration would marshal as nanoseconds).
type OutcomeJSON struct {
	ID         string      `json:"id"`
	Question   string      `json:"question"`
	Expected   string      `json:"expected"`
	Gold       []string    `json:"gold"`
	Action     string      `json:"action"`
	Reason     string      `json:"reason"`
	Intent     string      `json:"intent"`
	Cited      string      `json:"cited"`
	Candidate  string      `json:"candidate"`
	Confidence float64     `json:"confidence"`
	Gateable   bool        `json:"gateable"`
	Correct    bool        `json:"correct"`
	LatencyMS  float64     `json:"latency_ms"`
	Fold       int         `json:"fold"`
	Retrieved  []Retrieved `json:"retrieved"`
	// Set only when a judge ran (see Outcome).
	JudgeVerdict string `json:"judge_verdict,omitempty"`
	JudgeReason  string `json:"judge_reason,omitempty"`
	JudgeError   string `json:"judge_error,omitempty"`
}

// JSON returns the wire form of the outcome.
func (o Outcome) JSON() OutcomeJSON {
	return OutcomeJSON{
		ID:       o.Question.ID,
		Question: o.Question.Question,
		Expected: o.Question.Expected,
		// Empty lists rather than null, so consumers can iterate blindly.
		Gold:       nonNil(o.Question.Gold),
		Action:     o.Action,
		Reason:     o.Reason,
		Intent:     o.Intent,
		Cited:      o.Cited,
		Candidate:  o.Candidate,
		Confidence: o.Confidence,
		Gateable:   o.Gateable,
		Correct:    o.Correct(),
		LatencyMS:  float64(o.Latency) / float64(time.Millisecond),
		Fold:       o.Fold,
		Retrieved:  nonNil(o.Retrieved),

		JudgeVerdict: o.JudgeVerdict,
		JudgeReason:  o.JudgeReason,
		JudgeError:   o.JudgeError,
	}
}

// Outcome returns the outcome the wire form describes; Correct is derived,
// so it is not read back.
func (j OutcomeJSON) Outcome() Outcome {
	return Outcome{
		Question: Question{ID: j.ID, Question: j.Question, Gold: j.Gold, Expected: j.Expected},
		Action:   j.Action, Reason: j.Reason, Intent: j.Intent,
		Cited: j.Cited, Candidate: j.Candidate, Confidence: j.Confidence, Gateable: j.Gateable,
		Latency:   time.Duration(math.Round(j.LatencyMS * float64(time.Millisecond))),
		Fold:      j.Fold,
		Retrieved: j.Retrieved,

		JudgeVerdict: j.JudgeVerdict, JudgeReason: j.JudgeReason, JudgeError: j.JudgeError,
	}
}

// MarshalJSON writes the outcome as an OutcomeJSON.
func (o Outcome) MarshalJSON() ([]byte, error) { return json.Marshal(o.JSON()) }

// UnmarshalJSON reads an OutcomeJSON.
func (o *Outcome) UnmarshalJSON(b []byte) error {
	var j OutcomeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*o = j.Outcome()
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Limits of the "worst questions" tables: enough to see the patterns a
// knowledge manager can fix, few enough to read in one sitting.
const (
	maxWorstRows  = 50
	maxWrongRows  = 30
	maxMissedRows = maxWorstRows - maxWrongRows
)

// The wrong-answer rate production aims for by default (DESIGN.md section
// 8); the report draws it and flags runs above it.
const wrongBar = articlemodel.DefaultMaxWrongRate

// WriteHTML writes a self-contained HTML report of a run: no script, no
// external stylesheet, font or image, so that it can be mailed or opened
// from disk anywhere.
func WriteHTML(w io.Writer, sum Summary, outs []Outcome) error {
	if err := reportTemplate.Execute(w, newHTMLView(sum, outs)); err != nil {
		return fmt.Errorf("eval: render html report: %w", err)
	}
	return nil
}

type htmlView struct {
	Sum           Summary
	Replied       int
	WrongAboveBar bool
	Chart         chartView
	Best          []bestRow
	Reasons       []reasonRow
	Confusions    []Confusion
	Calibrations  []FoldCalibration
	Disagreements []disagreementRow
	Wrong         questionTable
	Missed        questionTable
}

// questionTable is one "worst questions" table: the rows shown, out of Total,
// under the heading whose id is HeadingID.
type questionTable struct {
	HeadingID string
	Rows      []questionRow
	Total     int
}

// disagreementRow is an example some folds' calibrations answered against
// its label: a question of another fold, in the examples of every fold but
// its own, or a shared example, in every fold's.
type disagreementRow struct {
	Text, Label, Answer string
	Confidence          float64 // the highest of any fold
	Folds               int
}

// maxDisagreementRows bounds the report's disagreement table.
const maxDisagreementRows = 20

type bestRow struct {
	Label string
	Found bool
	Point SweepPoint
}

type reasonRow struct {
	Reason string
	Count  int
	Share  float64
	// Width is the bar's length relative to the largest reason, in percent.
	Width float64
}

type questionRow struct {
	ID, Text string
	// Gold is empty when the question expected a handoff.
	Gold   []string
	Action string
	Reason string
	// Cited is set only when the cited article is not among Retrieved,
	// where it is marked otherwise.
	Cited      string
	Confidence float64
	Fold       int
	Retrieved  []retrievedRow
}

type retrievedRow struct {
	ArticleID string
	Score     float64
	Gold      bool
	Cited     bool
}

func newHTMLView(sum Summary, outs []Outcome) htmlView {
	v := htmlView{
		Sum:           sum,
		Replied:       max(0, sum.Questions-sum.Answered-sum.HandedOff),
		WrongAboveBar: sum.WrongAnswerRate > wrongBar,
		Chart:         newChart(sum),
		Calibrations:  cleanCalibrations(sum.Calibrations),
		Confusions:    cleanConfusions(sum.Confusions),
		Disagreements: disagreementRows(sum.Calibrations),
		Best:          bestRows(sum.Best),
		Reasons:       reasonRows(sum.ByReason),
	}
	v.Sum.Dataset = clean(sum.Dataset)
	v.Sum.ThresholdSource = clean(sum.ThresholdSource)
	v.Wrong, v.Missed = worstQuestions(outs, sum.Folds > 1)
	return v
}

// cleanConfusions returns a copy of confusions with their article ids
// cleaned.
func cleanConfusions(confusions []Confusion) []Confusion {
	var out []Confusion
	for _, c := range confusions {
		out = append(out, Confusion{Expected: clean(c.Expected), Cited: clean(c.Cited), Count: c.Count})
	}
	return out
}

// cleanCalibrations returns a copy of cals with their sources cleaned, so
// that the summary the caller holds keeps its own.
func cleanCalibrations(cals []FoldCalibration) []FoldCalibration {
	out := append([]FoldCalibration(nil), cals...)
	for i := range out {
		out[i].Source = clean(out[i].Source)
	}
	return out
}

// bestRows is one row per wrong-answer bound, found or not.
func bestRows(best map[string]SweepPt) []bestRow {
	var rows []bestRow
	for _, bound := range bestBounds {
		p, ok := best[boundKey(bound)]
		rows = append(rows, bestRow{Label: fmt.Sprintf("≤ %g%%", 100*bound), Found: ok, Point: p.SweepPoint})
	}
	return rows
}

// reasonRows lists the reasons, the most frequent first (ties by name, so
// the report does not change with map order), each bar sized against the
// first.
func reasonRows(byReason map[string]int) []reasonRow {
	total := 0
	for _, n := range byReason {
		total += n
	}
	var rows []reasonRow
	for r, n := range byReason {
		rows = append(rows, reasonRow{Reason: clean(r), Count: n, Share: ratio(n, total)})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Reason < b.Reason
	})
	for i := range rows {
		rows[i].Width = 100 * ratio(rows[i].Count, rows[0].Count)
	}
	return rows
}

// worstQuestions returns the "worst questions" tables: the wrong answers
// and the answerable questions handed off, each the most confident first.
func worstQuestions(outs []Outcome, folded bool) (wrongTable, missedTable questionTable) {
	var wrong, missed []Outcome
	for _, o := range outs {
		switch {
		case o.Answered() && !o.Correct():
			wrong = append(wrong, o)
		case !o.Answered() && o.Question.Answerable():
			missed = append(missed, o)
		}
	}
	byConfidence := func(s []Outcome) {
		sort.SliceStable(s, func(i, j int) bool { return s[i].Confidence > s[j].Confidence })
	}
	byConfidence(wrong)
	byConfidence(missed)
	wrongTable = questionTable{HeadingID: "wrong", Total: len(wrong)}
	missedTable = questionTable{HeadingID: "missed", Total: len(missed)}
	// Each table gets its share of the rows, and lends what it does not use
	// to the other, so that a run with few wrong answers still shows 50 rows.
	nWrong := min(len(wrong), maxWrongRows+max(0, maxMissedRows-len(missed)))
	nMissed := min(len(missed), maxWorstRows-nWrong)
	for _, o := range wrong[:nWrong] {
		wrongTable.Rows = append(wrongTable.Rows, newQuestionRow(o, folded))
	}
	for _, o := range missed[:nMissed] {
		missedTable.Rows = append(missedTable.Rows, newQuestionRow(o, folded))
	}
	return wrongTable, missedTable
}

// disagreementRows merges the folds' disagreements: the examples most folds
// answered against their label first, then the most confident.
func disagreementRows(cals []FoldCalibration) []disagreementRow {
	type key struct{ text, label, answer string }
	at := map[key]int{}
	var rows []disagreementRow
	for _, c := range cals {
		for _, d := range c.Disagreements {
			k := key{d.Text, d.Label, d.Answer}
			i, ok := at[k]
			if !ok {
				i = len(rows)
				at[k] = i
				rows = append(rows, disagreementRow{Text: clean(d.Text), Label: clean(d.Label), Answer: clean(d.Answer)})
			}
			rows[i].Folds++
			rows[i].Confidence = max(rows[i].Confidence, d.Confidence)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Folds != rows[j].Folds {
			return rows[i].Folds > rows[j].Folds
		}
		return rows[i].Confidence > rows[j].Confidence
	})
	if len(rows) > maxDisagreementRows {
		rows = rows[:maxDisagreementRows]
	}
	return rows
}

// newQuestionRow numbers folds from 1 for readers, and leaves Fold 0 when the
// run had no folds.
func newQuestionRow(o Outcome, folded bool) questionRow {
	r := questionRow{
		ID: clean(o.Question.ID), Text: clean(o.Question.Question),
		Action: clean(o.Action), Reason: clean(o.Reason), Confidence: o.Confidence,
	}
	if o.JudgeVerdict == VerdictIncorrect {
		// The cited article is gold: the judge's reason is the only clue.
		r.Reason = clean("judged incorrect: " + o.JudgeReason)
	}
	if o.Question.Answerable() {
		for _, g := range o.Question.Gold {
			r.Gold = append(r.Gold, clean(g))
		}
	}
	if folded {
		r.Fold = o.Fold + 1
	}
	listed := false
	for _, c := range o.Retrieved {
		cited := o.Answered() && c.ArticleID == o.Cited && !listed
		listed = listed || cited
		r.Retrieved = append(r.Retrieved, retrievedRow{ArticleID: clean(c.ArticleID), Score: c.Score,
			Gold: o.Question.IsGold(c.ArticleID), Cited: cited})
	}
	if o.Answered() && !listed {
		r.Cited = clean(o.Cited)
	}
	return r
}

// clean makes customer text valid UTF-8: html/template escapes markup but
// passes invalid bytes through, and a browser would guess the encoding.
func clean(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// The chart's coordinate system, in SVG user units. The small width keeps
// labels legible when a phone scales the chart down.
const (
	chartW     = 520
	chartH     = 340
	plotLeft   = 78.0
	plotRight  = chartW - 24.0
	plotTop    = 16.0
	plotBottom = chartH - 54.0
	// minChartMax keeps the 2% and 5% bars apart on runs with few
	// wrong answers.
	minChartMax = 0.10
)

type chartView struct {
	W, H                     int
	Left, Right, Top, Bottom string
	XTicks, YTicks           []tick
	Bounds                   []boundLine
	Curve                    string
	Dots                     []point
	Best                     []point
	Run                      point
	RunLabel                 label
	Empty                    bool
	XLabelX, XLabelY         string
	YLabelX, YLabelY         string
	Desc                     string
}

type tick struct {
	Pos   string
	Label string
}

type boundLine struct {
	X      string
	Label  string
	LabelY string
}

type point struct{ X, Y string }

type label struct {
	X, Y, Anchor, Text string
}

func newChart(sum Summary) chartView {
	s := newChartScale(sum)
	c := chartView{
		W: chartW, H: chartH,
		Left: f1(plotLeft), Right: f1(plotRight), Top: f1(plotTop), Bottom: f1(plotBottom),
		Empty:   len(sum.Sweep) == 0,
		XLabelX: f1((plotLeft + plotRight) / 2), XLabelY: f1(chartH - 10),
		YLabelX: f1(-(plotTop + plotBottom) / 2), YLabelY: f1(18),
	}
	c.XTicks, c.YTicks = s.xTicks(), s.yTicks()
	c.Bounds = s.boundLines()
	c.Curve, c.Dots = s.curve(sum.Sweep)
	c.Best = s.best(sum.Best)
	c.Run = s.at(sum.WrongAnswerRate, sum.ResolutionRate)
	c.RunLabel = s.runLabel(sum)
	c.Desc = chartDesc(sum)
	return c
}

// chartScale places rates on the chart: wrong-answer rates on the x axis,
// from 0 to xMax with a tick every step, resolution rates on the y axis,
// from 0 to 1.
type chartScale struct {
	xMax, step float64
}

// newChartScale stretches the x axis to the run's and the sweep's highest
// wrong-answer rate, rounded up to a whole tick, and to at least
// minChartMax.
func newChartScale(sum Summary) chartScale {
	xMax := minChartMax
	for _, p := range sum.Sweep {
		xMax = math.Max(xMax, p.WrongAnswerRate)
	}
	xMax = math.Max(xMax, sum.WrongAnswerRate)
	step := tickStep(xMax)
	xMax = math.Min(1, math.Ceil(xMax/step-1e-9)*step)
	return chartScale{xMax: xMax, step: step}
}

func (s chartScale) x(rate float64) float64 { return plotLeft + (plotRight-plotLeft)*rate/s.xMax }

func (s chartScale) y(rate float64) float64 { return plotBottom - (plotBottom-plotTop)*rate }

// at is where the operating point with these rates is drawn.
func (s chartScale) at(wrong, resolution float64) point {
	return point{f1(s.x(wrong)), f1(s.y(resolution))}
}

func (s chartScale) xTicks() []tick {
	var ticks []tick
	for i := 0; float64(i)*s.step <= s.xMax+1e-9; i++ {
		r := float64(i) * s.step
		ticks = append(ticks, tick{Pos: f1(s.x(r)), Label: pctTick(r)})
	}
	return ticks
}

func (s chartScale) yTicks() []tick {
	var ticks []tick
	for i := 0; i <= 5; i++ {
		r := float64(i) / 5
		ticks = append(ticks, tick{Pos: f1(s.y(r)), Label: pctTick(r)})
	}
	return ticks
}

// boundLines are the vertical bars at the wrong-answer bounds. The two bars
// are labelled at different heights: on a wide axis they are only a few
// units apart.
func (s chartScale) boundLines() []boundLine {
	var lines []boundLine
	for i, b := range bestBounds {
		lines = append(lines, boundLine{X: f1(s.x(b)), Label: fmt.Sprintf("%g%%", 100*b), LabelY: f1(plotTop + 12 + 14*float64(i))})
	}
	return lines
}

// curve is the sweep as an SVG polyline's points, and as a dot when it is a
// single point, which a polyline does not draw.
func (s chartScale) curve(sweep []SweepPoint) (string, []point) {
	var pts []string
	for _, p := range sweep {
		pts = append(pts, f1(s.x(p.WrongAnswerRate))+","+f1(s.y(p.ResolutionRate)))
	}
	var dots []point
	if len(sweep) == 1 {
		p := sweep[0]
		dots = []point{s.at(p.WrongAnswerRate, p.ResolutionRate)}
	}
	return strings.Join(pts, " "), dots
}

// best are the best operating points found, one per bound.
func (s chartScale) best(best map[string]SweepPt) []point {
	var pts []point
	for _, bound := range bestBounds {
		if p, ok := best[boundKey(bound)]; ok {
			pts = append(pts, s.at(p.WrongAnswerRate, p.ResolutionRate))
		}
	}
	return pts
}

// runLabel places the label of the run's operating point. The curve rises
// to the right, so the space below and to the right of the point is free,
// and so is the space above and to the left of it: the label goes to
// whichever keeps it inside the plot.
func (s chartScale) runLabel(sum Summary) label {
	rx, ry := s.x(sum.WrongAnswerRate), s.y(sum.ResolutionRate)
	const labelWidth = 200 // "this run (t = 0.000)" at the phone's larger font
	lx, ly, anchor := rx+10, ry+22, "start"
	if rx+10+labelWidth > plotRight || ry+22 > plotBottom-6 {
		lx, ly, anchor = rx-10, ry-12, "end"
		if rx-10-labelWidth < plotLeft {
			lx, anchor = rx+10, "start"
		}
		if ly < plotTop+14 {
			ly = ry + 22
		}
	}
	return label{X: f1(lx), Y: f1(ly), Anchor: anchor, Text: fmt.Sprintf("this run (t = %.3f)", sum.Threshold)}
}

// chartDesc is the chart's text alternative.
func chartDesc(sum Summary) string {
	run := fmt.Sprintf("this run at %s resolution and %s wrong answers with threshold %.3f.",
		pct(sum.ResolutionRate), pct(sum.WrongAnswerRate), sum.Threshold)
	if len(sum.Sweep) == 0 {
		return "No question reached the confidence gate, so there is no curve; " + run
	}
	return fmt.Sprintf("Resolution against wrong-answer rate over %d thresholds; %s", len(sum.Sweep), run)
}

// tickStep picks a round step giving at most eight intervals on [0, top]:
// more would crowd the labels on a phone.
func tickStep(top float64) float64 {
	for _, s := range []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.25} {
		if top/s <= 8 {
			return s
		}
	}
	return 0.25
}

// pctTick formats a tick without decimals: every step is a whole percent.
func pctTick(r float64) string { return fmt.Sprintf("%.0f%%", 100*r) }

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }

func pct(r float64) string { return fmt.Sprintf("%.1f%%", 100*r) }

// reportHTML is the report's html/template, a file of its own so that its
// markup and style can be read and edited without reading Go.
//
//go:embed report.html
var reportHTML string

// reportTemplate parses reportHTML without the final newline an editor
// adds: the report ends at its last tag.
var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":       pct,
	"num3":      func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"ms":        func(v float64) string { return fmt.Sprintf("%.1f ms", v) },
	"f1":        f1,
	"fold":      func(v int) int { return v + 1 },
	"breakable": breakable,
}).Parse(strings.TrimSuffix(reportHTML, "\n")))

// breakable splits an article id after its separators, where the report
// lets a narrow column wrap it (a <wbr> after each part) rather than
// anywhere inside a word.
func breakable(id string) []string {
	var parts []string
	start := 0
	for i, r := range id {
		if r == ':' || r == '_' || r == '-' || r == '/' {
			parts = append(parts, id[start:i+1])
			start = i + 1
		}
	}
	return append(parts, id[start:])
}
