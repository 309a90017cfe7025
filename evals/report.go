package evals

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/relais-ai/relais/assistant"
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
const wrongBar = assistant.DefaultMaxWrongRate

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
		Calibrations:  append([]FoldCalibration(nil), sum.Calibrations...),
	}
	for _, c := range sum.Confusions {
		v.Confusions = append(v.Confusions, Confusion{Expected: clean(c.Expected), Cited: clean(c.Cited), Count: c.Count})
	}
	for i := range v.Calibrations {
		v.Calibrations[i].Source = clean(v.Calibrations[i].Source)
	}
	v.Disagreements = disagreementRows(sum.Calibrations)
	v.Sum.Dataset = clean(sum.Dataset)
	v.Sum.ThresholdSource = clean(sum.ThresholdSource)
	for _, bound := range bestBounds {
		p, ok := sum.Best[boundKey(bound)]
		v.Best = append(v.Best, bestRow{Label: fmt.Sprintf("≤ %g%%", 100*bound), Found: ok, Point: p.SweepPoint})
	}

	total := 0
	for _, n := range sum.ByReason {
		total += n
	}
	for r, n := range sum.ByReason {
		v.Reasons = append(v.Reasons, reasonRow{Reason: clean(r), Count: n, Share: ratio(n, total)})
	}
	sort.Slice(v.Reasons, func(i, j int) bool {
		a, b := v.Reasons[i], v.Reasons[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Reason < b.Reason
	})
	for i := range v.Reasons {
		v.Reasons[i].Width = 100 * ratio(v.Reasons[i].Count, v.Reasons[0].Count)
	}

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
	v.Wrong = questionTable{HeadingID: "wrong", Total: len(wrong)}
	v.Missed = questionTable{HeadingID: "missed", Total: len(missed)}
	// Each table gets its share of the rows, and lends what it does not use
	// to the other, so that a run with few wrong answers still shows 50 rows.
	nWrong := min(len(wrong), maxWrongRows+max(0, maxMissedRows-len(missed)))
	nMissed := min(len(missed), maxWorstRows-nWrong)
	for _, o := range wrong[:nWrong] {
		v.Wrong.Rows = append(v.Wrong.Rows, newQuestionRow(o, sum.Folds > 1))
	}
	for _, o := range missed[:nMissed] {
		v.Missed.Rows = append(v.Missed.Rows, newQuestionRow(o, sum.Folds > 1))
	}
	return v
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
	xMax := minChartMax
	for _, p := range sum.Sweep {
		xMax = math.Max(xMax, p.WrongAnswerRate)
	}
	xMax = math.Max(xMax, sum.WrongAnswerRate)
	step := tickStep(xMax)
	xMax = math.Min(1, math.Ceil(xMax/step-1e-9)*step)

	x := func(rate float64) float64 { return plotLeft + (plotRight-plotLeft)*rate/xMax }
	y := func(rate float64) float64 { return plotBottom - (plotBottom-plotTop)*rate }
	c := chartView{
		W: chartW, H: chartH,
		Left: f1(plotLeft), Right: f1(plotRight), Top: f1(plotTop), Bottom: f1(plotBottom),
		Empty:   len(sum.Sweep) == 0,
		XLabelX: f1((plotLeft + plotRight) / 2), XLabelY: f1(chartH - 10),
		YLabelX: f1(-(plotTop + plotBottom) / 2), YLabelY: f1(18),
	}
	for i := 0; float64(i)*step <= xMax+1e-9; i++ {
		r := float64(i) * step
		c.XTicks = append(c.XTicks, tick{Pos: f1(x(r)), Label: pctTick(r)})
	}
	for i := 0; i <= 5; i++ {
		r := float64(i) / 5
		c.YTicks = append(c.YTicks, tick{Pos: f1(y(r)), Label: pctTick(r)})
	}
	// The two bars are labelled at different heights: on a wide axis they
	// are only a few units apart.
	for i, b := range bestBounds {
		c.Bounds = append(c.Bounds, boundLine{X: f1(x(b)), Label: fmt.Sprintf("%g%%", 100*b), LabelY: f1(plotTop + 12 + 14*float64(i))})
	}
	var pts []string
	for _, p := range sum.Sweep {
		pts = append(pts, f1(x(p.WrongAnswerRate))+","+f1(y(p.ResolutionRate)))
	}
	c.Curve = strings.Join(pts, " ")
	if len(sum.Sweep) == 1 {
		p := sum.Sweep[0]
		c.Dots = []point{{f1(x(p.WrongAnswerRate)), f1(y(p.ResolutionRate))}}
	}
	for _, bound := range bestBounds {
		if p, ok := sum.Best[boundKey(bound)]; ok {
			c.Best = append(c.Best, point{f1(x(p.WrongAnswerRate)), f1(y(p.ResolutionRate))})
		}
	}

	rx, ry := x(sum.WrongAnswerRate), y(sum.ResolutionRate)
	c.Run = point{f1(rx), f1(ry)}
	// The curve rises to the right, so the space below and to the right of
	// the point is free, and so is the space above and to the left of it:
	// the label goes to whichever keeps it inside the plot.
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
	c.RunLabel = label{X: f1(lx), Y: f1(ly), Anchor: anchor, Text: fmt.Sprintf("this run (t = %.3f)", sum.Threshold)}

	run := fmt.Sprintf("this run at %s resolution and %s wrong answers with threshold %.3f.",
		pct(sum.ResolutionRate), pct(sum.WrongAnswerRate), sum.Threshold)
	c.Desc = fmt.Sprintf("Resolution against wrong-answer rate over %d thresholds; %s", len(sum.Sweep), run)
	if c.Empty {
		c.Desc = "No question reached the confidence gate, so there is no curve; " + run
	}
	return c
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

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":       pct,
	"num3":      func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"ms":        func(v float64) string { return fmt.Sprintf("%.1f ms", v) },
	"f1":        f1,
	"fold":      func(v int) int { return v + 1 },
	"breakable": breakable,
}).Parse(reportHTML))

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

const reportHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Relais eval: {{.Sum.Dataset}}</title>
<style>
:root {
  --fg: #1d2330; --muted: #5b6474; --bg: #ffffff; --panel: #f4f6f9; --line: #d8dde5;
  --accent: #2556c4; --good: #1f7a4d; --bad: #b3261e; --warn: #8a5a00; --grid: #e6e9ef;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6e9ef; --muted: #a3acbb; --bg: #14171c; --panel: #1e232b; --line: #363d49;
    --accent: #7fa6ff; --good: #5fcf98; --bad: #ff8a80; --warn: #f0b64a; --grid: #2a303a;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 72rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2.5rem 0 .75rem; padding-bottom: .3rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.75rem 0 .5rem; }
p { margin: .5rem 0; }
.meta, .note, figcaption, caption { color: var(--muted); font-size: .9rem; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.cards {
  display: grid; grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr)); gap: .75rem;
  margin: 1.25rem 0 0; padding: 0;
}
.card { background: var(--panel); border: 1px solid var(--line); border-radius: .5rem; padding: .75rem .9rem; margin: 0; }
.card dt { font-size: .85rem; color: var(--muted); }
.card dd { margin: 0; }
.card .value { display: block; font-size: 1.7rem; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.2; }
.card .note { display: block; }
.bad { color: var(--bad); }
.good { color: var(--good); }
figure { margin: 0; }
.curve-layout { display: grid; grid-template-columns: minmax(0, 1fr); gap: 0 2rem; align-items: start; }
@media (min-width: 64rem) { .curve-layout { grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); } .best th[scope="row"] { white-space: nowrap; } .curve-layout h3 { margin-top: 0; } }
.chart { display: block; width: 100%; max-width: 44rem; height: auto; }
.chart text { font-size: 13px; fill: var(--fg); }
.chart .tick text { fill: var(--muted); }
.chart .grid { stroke: var(--grid); stroke-width: 1; }
.chart .axis { stroke: var(--muted); stroke-width: 1.2; fill: none; }
.chart .bound { stroke: var(--warn); stroke-width: 1.3; stroke-dasharray: 5 4; }
.chart .bound-label { fill: var(--warn); font-weight: 600; }
.chart .curve { fill: none; stroke: var(--accent); stroke-width: 2.2; stroke-linejoin: round; }
.chart .dot { fill: var(--accent); }
.chart .best { fill: var(--bg); stroke: var(--good); stroke-width: 2; }
.chart .run { fill: var(--bad); stroke: var(--bg); stroke-width: 2; }
.chart .run-label { font-weight: 650; fill: var(--bad); }
.chart .halo { paint-order: stroke; stroke: var(--bg); stroke-width: 4px; stroke-linejoin: round; }
.chart .empty { fill: var(--muted); font-style: italic; }
.legend { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; list-style: none; padding: 0; margin: .5rem 0; font-size: .9rem; color: var(--muted); }
.swatch { display: inline-block; vertical-align: middle; margin-right: .35rem; }
.swatch.line { width: 1.4rem; height: 0; border-top: 3px solid var(--accent); }
.swatch.dash { width: 1.4rem; height: 0; border-top: 2px dashed var(--warn); }
.swatch.run { width: .8rem; height: .8rem; border-radius: 50%; background: var(--bad); }
.swatch.best { width: .8rem; height: .8rem; border-radius: 50%; border: 2px solid var(--good); }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; max-width: 100%; }
.scroll:focus { outline: 2px solid var(--accent); outline-offset: 2px; }
table { border-collapse: collapse; font-size: .92rem; }
caption { text-align: left; padding: 0 0 .4rem; }
th, td { text-align: left; vertical-align: top; padding: .4rem .6rem; border-bottom: 1px solid var(--line); }
thead th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
thead th.num { white-space: normal; }
.bars { width: 100%; max-width: 44rem; }
.bars th code { white-space: nowrap; }
.bars td.bar { width: 50%; min-width: 6rem; vertical-align: middle; }
.bar span { display: block; height: .8rem; min-width: 2px; border-radius: 2px; background: var(--accent); }
.worst { min-width: 50rem; }
.worst td.q { min-width: 14rem; max-width: 28rem; }
.worst ol { margin: 0; padding-left: 1.1rem; }
.worst li { white-space: nowrap; }
.gold { color: var(--good); font-weight: 600; }
.tag { font-size: .75rem; font-weight: 600; padding: 0 .3rem; border-radius: .25rem; background: var(--panel); border: 1px solid var(--line); color: var(--fg); }
details { margin: .75rem 0; }
summary { cursor: pointer; color: var(--accent); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
@media (max-width: 34rem) {
  main { padding: 1rem .75rem 2rem; }
  h1 { font-size: 1.35rem; }
  .cards { grid-template-columns: 1fr 1fr; gap: .5rem; }
  .card { padding: .6rem .7rem; }
  .card .value { font-size: 1.35rem; }
  .chart text { font-size: 18px; }
  .chart .detail { display: none; }
  .bars td.bar { min-width: 3rem; }
  table { font-size: .85rem; }
  th, td { padding: .35rem .45rem; }
}
</style>
</head>
<body>
<main>
<header>
<h1>Eval report: {{.Sum.Dataset}}</h1>
<p class="meta">{{.Sum.Questions}} questions{{if .Sum.Folds}}, {{.Sum.Folds}}-fold cross-validation{{end}}{{if .Sum.Examples}}, {{.Sum.Examples}} labelled examples loaded{{end}}{{if .Sum.Duration}}, run in {{f1 .Sum.Duration}} s{{end}}.</p>
</header>

<section aria-labelledby="headline">
<h2 id="headline" class="sr-only">Headline numbers</h2>
<dl class="cards">
<div class="card"><dt>Resolution</dt><dd><span class="value">{{pct .Sum.ResolutionRate}}</span><span class="note">{{.Sum.Correct}} of {{.Sum.Answerable}} answerable questions answered from a right article</span></dd></div>
<div class="card"><dt>Wrong-answer rate</dt><dd><span class="value{{if .WrongAboveBar}} bad{{end}}">{{pct .Sum.WrongAnswerRate}}</span><span class="note">{{.Sum.Wrong}} of {{.Sum.Answered}} answers wrong{{if .WrongAboveBar}}, above the 2% bar{{end}}</span></dd></div>
<div class="card"><dt>Escalation recall</dt><dd><span class="value">{{pct .Sum.EscalationRecall}}</span><span class="note">of {{.Sum.HandoffExpected}} questions that needed a human, share not answered</span></dd></div>
<div class="card"><dt>Top-1</dt><dd><span class="value">{{pct .Sum.Top1Rate}}</span><span class="note">of the answerable questions, best candidate a gold article, answered or not</span></dd></div>
<div class="card"><dt>Questions</dt><dd><span class="value">{{.Sum.Questions}}</span><span class="note">{{.Sum.Answerable}} answerable, {{.Sum.HandoffExpected}} for a human</span></dd></div>
<div class="card"><dt>Answered / handed off</dt><dd><span class="value">{{.Sum.Answered}} / {{.Sum.HandedOff}}</span><span class="note">{{.Sum.Correct}} correct, {{.Sum.Wrong}} wrong{{if .Replied}}; {{.Replied}} smalltalk {{if eq .Replied 1}}reply{{else}}replies{{end}}{{end}}</span></dd></div>
<div class="card"><dt>Threshold</dt><dd><span class="value">{{num3 .Sum.Threshold}}</span><span class="note">{{if .Sum.ThresholdSource}}{{.Sum.ThresholdSource}}{{else}}source not recorded{{end}}</span></dd></div>
<div class="card"><dt>Best resolution at ≤ 2% wrong</dt><dd>{{with index .Best 0}}{{if .Found}}<span class="value">{{pct .Point.ResolutionRate}}</span><span class="note">threshold {{num3 .Point.Threshold}}, {{pct .Point.WrongAnswerRate}} wrong, in hindsight</span>{{else}}<span class="value">–</span><span class="note">no threshold keeps wrong answers this low</span>{{end}}{{end}}</dd></div>
<div class="card"><dt>Latency p50</dt><dd><span class="value">{{ms .Sum.Latency.P50}}</span><span class="note">p95 {{ms .Sum.Latency.P95}}, p99 {{ms .Sum.Latency.P99}}</span></dd></div>
</dl>
</section>

<section aria-labelledby="curve">
<h2 id="curve">Resolution against wrong answers</h2>
<p class="note">Each point of the curve is what this run would have given with a different confidence threshold, everything else the same: a lower threshold answers more, and more wrongly.</p>
<div class="curve-layout">
<figure>
{{with .Chart}}<svg class="chart" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-labelledby="chart-title chart-desc">
<title id="chart-title">Resolution rate against wrong-answer rate by threshold</title>
<desc id="chart-desc">{{.Desc}}</desc>
<g class="tick">
{{range .YTicks}}<line class="grid" x1="{{$.Chart.Left}}" x2="{{$.Chart.Right}}" y1="{{.Pos}}" y2="{{.Pos}}"/><text x="{{$.Chart.Left}}" y="{{.Pos}}" dx="-8" dy="4.5" text-anchor="end">{{.Label}}</text>
{{end}}{{range .XTicks}}<line class="grid" x1="{{.Pos}}" x2="{{.Pos}}" y1="{{$.Chart.Top}}" y2="{{$.Chart.Bottom}}"/><text x="{{.Pos}}" y="{{$.Chart.Bottom}}" dy="19" text-anchor="middle">{{.Label}}</text>
{{end}}</g>
<path class="axis" d="M{{.Left}} {{.Top}}V{{.Bottom}}H{{.Right}}"/>
<text x="{{.XLabelX}}" y="{{.XLabelY}}" text-anchor="middle">Wrong-answer rate<tspan class="detail"> (wrong / answered)</tspan></text>
<text x="{{.YLabelX}}" y="{{.YLabelY}}" text-anchor="middle" transform="rotate(-90)">Resolution<tspan class="detail"> (correct / answerable)</tspan></text>
{{range .Bounds}}<line class="bound" x1="{{.X}}" x2="{{.X}}" y1="{{$.Chart.Top}}" y2="{{$.Chart.Bottom}}"/><text class="bound-label halo" x="{{.X}}" y="{{.LabelY}}" dx="4">{{.Label}}</text>
{{end}}{{if .Empty}}<text class="empty halo" x="{{.XLabelX}}" y="150" text-anchor="middle">No question reached the confidence gate: no curve.</text>
{{else}}<polyline class="curve" points="{{.Curve}}"/>
{{end}}{{range .Dots}}<circle class="dot" cx="{{.X}}" cy="{{.Y}}" r="3.5"/>
{{end}}{{range .Best}}<circle class="best" cx="{{.X}}" cy="{{.Y}}" r="5.5"/>
{{end}}<circle class="run" cx="{{.Run.X}}" cy="{{.Run.Y}}" r="6"/>
<text class="run-label halo" x="{{.RunLabel.X}}" y="{{.RunLabel.Y}}" text-anchor="{{.RunLabel.Anchor}}">{{.RunLabel.Text}}</text>
</svg>{{end}}
<figcaption>
<ul class="legend">
<li><span class="swatch line" aria-hidden="true"></span>resolution as the threshold varies</li>
<li><span class="swatch dash" aria-hidden="true"></span>2% and 5% wrong answers</li>
<li><span class="swatch run" aria-hidden="true"></span>this run ({{pct .Sum.ResolutionRate}} at {{pct .Sum.WrongAnswerRate}} wrong)</li>
<li><span class="swatch best" aria-hidden="true"></span>best threshold at ≤ 2% and ≤ 5%</li>
</ul>
</figcaption>
</figure>
<div class="best">
<h3 id="best">Best operating points</h3>
<div class="scroll" role="region" aria-labelledby="best" tabindex="0">
<table>
<thead><tr><td></td>{{range .Best}}<th scope="col" class="num">{{.Label}} wrong</th>{{end}}<th scope="col" class="num">this run</th></tr></thead>
<tbody>
<tr><th scope="row">Threshold</th>{{range .Best}}<td class="num">{{if .Found}}{{num3 .Point.Threshold}}{{else}}–{{end}}</td>{{end}}<td class="num">{{num3 .Sum.Threshold}}</td></tr>
<tr><th scope="row">Resolution</th>{{range .Best}}<td class="num">{{if .Found}}{{pct .Point.ResolutionRate}}{{else}}–{{end}}</td>{{end}}<td class="num">{{pct .Sum.ResolutionRate}}</td></tr>
<tr><th scope="row">Wrong-answer rate</th>{{range .Best}}<td class="num">{{if .Found}}{{pct .Point.WrongAnswerRate}}{{else}}–{{end}}</td>{{end}}<td class="num">{{pct .Sum.WrongAnswerRate}}</td></tr>
<tr><th scope="row">Escalation recall</th>{{range .Best}}<td class="num">{{if .Found}}{{pct .Point.EscalationRecall}}{{else}}–{{end}}</td>{{end}}<td class="num">{{pct .Sum.EscalationRecall}}</td></tr>
</tbody>
</table>
</div>
{{range .Best}}{{if not .Found}}<p class="note">No threshold keeps wrong answers {{.Label}}.</p>
{{end}}{{end}}<p class="note">The best points are chosen on this very run, so they are optimistic: the threshold Relais calibrates for itself never sees these questions.</p>
</div>
</div>
{{if .Sum.Sweep}}<details>
<summary>All {{len .Sum.Sweep}} thresholds of the curve</summary>
<div class="scroll" role="region" aria-label="Threshold sweep" tabindex="0">
<table>
<thead><tr><th scope="col" class="num">Threshold</th><th scope="col" class="num">Resolution</th><th scope="col" class="num">Wrong-answer rate</th><th scope="col" class="num">Escalation recall</th></tr></thead>
<tbody>
{{range .Sum.Sweep}}<tr><td class="num">{{num3 .Threshold}}</td><td class="num">{{pct .ResolutionRate}}</td><td class="num">{{pct .WrongAnswerRate}}</td><td class="num">{{pct .EscalationRecall}}</td></tr>
{{end}}</tbody>
</table>
</div>
</details>{{end}}
</section>

<section aria-labelledby="reasons">
<h2 id="reasons">Handoffs by reason</h2>
{{if .Reasons}}<div class="scroll" role="region" aria-labelledby="reasons" tabindex="0">
<table class="bars">
<thead><tr><th scope="col">Reason</th><th scope="col"><span class="sr-only">Bar</span></th><th scope="col" class="num">Count</th><th scope="col" class="num">Share</th></tr></thead>
<tbody>
{{range .Reasons}}<tr><th scope="row"><code>{{.Reason}}</code></th><td class="bar" aria-hidden="true"><span style="width: {{f1 .Width}}%"></span></td><td class="num">{{.Count}}</td><td class="num">{{pct .Share}}</td></tr>
{{end}}</tbody>
</table>
</div>
<p class="note">Every question not answered, by the reason the assistant gave; <code>reply:…</code> rows are smalltalk replies, <code>clarify</code> a question asked back.</p>
{{else}}<p>No question was handed off.</p>{{end}}
</section>

<section aria-labelledby="confusions">
<h2 id="confusions">Most frequent wrong answers</h2>
{{if .Confusions}}<div class="scroll" role="region" aria-labelledby="confusions" tabindex="0">
<table>
<thead><tr><th scope="col">Expected</th><th scope="col">Cited instead</th><th scope="col" class="num">Times</th></tr></thead>
<tbody>
{{range .Confusions}}<tr><td>{{if eq .Expected "handoff"}}<em>a human (handoff)</em>{{else}}{{template "id" .Expected}}{{end}}</td><td>{{template "id" .Cited}}</td><td class="num">{{.Count}}</td></tr>
{{end}}</tbody>
</table>
</div>
<p class="note">Two articles often confused may overlap or need clearer titles; an article often cited for questions that need a human may need a handoff example.</p>
{{else}}<p>No wrong answers.</p>{{end}}
</section>

{{if .Calibrations}}<section aria-labelledby="calibration">
<h2 id="calibration">Calibration{{if gt (len .Calibrations) 1}} by fold{{end}}</h2>
<div class="scroll" role="region" aria-labelledby="calibration" tabindex="0">
<table>
<thead><tr><th scope="col" class="num">Fold</th><th scope="col" class="num">Threshold</th><th scope="col">Source</th><th scope="col" class="num">Examples</th><th scope="col" class="num">Resolution (est.)</th><th scope="col" class="num">Wrong answers (est.)</th></tr></thead>
<tbody>
{{range .Calibrations}}<tr><td class="num">{{fold .Fold}}</td><td class="num">{{num3 .Threshold}}</td><td>{{.Source}}</td><td class="num">{{.Examples}}</td><td class="num">{{if .Examples}}{{pct .EstimatedResolution}}{{else}}–{{end}}</td><td class="num">{{if .Examples}}{{pct .EstimatedWrongRate}}{{else}}–{{end}}</td></tr>
{{end}}</tbody>
</table>
</div>
<p class="note">Estimates come from cross-validation over the examples each fold had; compare them with the measured numbers above.</p>
{{if .Disagreements}}<h3 id="disagreements">Examples answered against their label</h3>
<p class="note">Replaying its examples, the calibration answered these otherwise than their label says, with the confidence shown; the most confident are what holds the threshold up. Each is often a wrong label, articles customers cannot tell apart, or a message needing a person that reads like one an article answers: fixing them lets the assistant answer more.</p>
<div class="scroll" role="region" aria-labelledby="disagreements" tabindex="0">
<table>
{{$folded := gt (len .Calibrations) 1}}<thead><tr><th scope="col">Example</th><th scope="col">Labelled</th><th scope="col">Answered with</th><th scope="col" class="num">Confidence</th>{{if $folded}}<th scope="col" class="num">Folds</th>{{end}}</tr></thead>
<tbody>
{{range .Disagreements}}<tr><td class="q">{{.Text}}</td><td>{{if .Label}}{{template "id" .Label}}{{else}}<em>a human (handoff)</em>{{end}}</td><td>{{template "id" .Answer}}</td><td class="num">{{num3 .Confidence}}</td>{{if $folded}}<td class="num">{{.Folds}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
</div>{{end}}
</section>
{{end}}

<section aria-labelledby="worst">
<h2 id="worst">Worst questions</h2>
<h3 id="wrong">Wrong answers, most confident first</h3>
{{if .Wrong.Rows}}<p class="note">{{len .Wrong.Rows}} of {{.Wrong.Total}} shown. Articles marked ✓ among the retrieved are gold.</p>
{{template "questions" .Wrong}}{{else}}<p>No wrong answers.</p>{{end}}
<h3 id="missed">Answerable questions handed off, most confident first</h3>
{{if .Missed.Rows}}<p class="note">{{len .Missed.Rows}} of {{.Missed.Total}} shown. A gold article retrieved with a high score here is resolution the threshold gave away.</p>
{{template "questions" .Missed}}{{else}}<p>Every answerable question was answered.</p>{{end}}
</section>

<footer>
<p>Resolution = correct answers / answerable questions. Wrong-answer rate = wrong answers / answers (answering a question meant for a human is wrong). Escalation recall = questions meant for a human not answered / questions meant for a human. Generated by <code>relais eval</code>.</p>
</footer>
</main>
</body>
</html>
{{define "id"}}<code>{{range breakable .}}{{.}}<wbr>{{end}}</code>{{end}}
{{define "questions"}}<div class="scroll" role="region" aria-labelledby="{{.HeadingID}}" tabindex="0">
<table class="worst">
<thead><tr><th scope="col">Question</th><th scope="col">Expected</th><th scope="col">Decision</th><th scope="col" class="num">Confidence</th><th scope="col">Retrieved (score)</th></tr></thead>
<tbody>
{{range .Rows}}<tr><td class="q">{{.Text}}<br><span class="note"><code>{{.ID}}</code>{{if .Fold}}, fold {{.Fold}}{{end}}</span></td><td>{{if .Gold}}{{range $i, $g := .Gold}}{{if $i}}<br>{{end}}{{template "id" $g}}{{end}}{{else}}<em>handoff</em>{{end}}</td><td>{{.Action}}{{if .Reason}}<br><span class="note">{{.Reason}}</span>{{end}}{{if .Cited}}<br><span class="note">cited {{template "id" .Cited}}</span>{{end}}</td><td class="num">{{num3 .Confidence}}</td><td>{{if .Retrieved}}<ol>{{range .Retrieved}}<li{{if .Gold}} class="gold"{{end}}><code>{{.ArticleID}}</code> {{num3 .Score}}{{if .Gold}} <span aria-hidden="true">✓</span><span class="sr-only">gold</span>{{end}}{{if .Cited}} <span class="tag">cited</span>{{end}}</li>{{end}}</ol>{{else}}–{{end}}</td></tr>
{{end}}</tbody>
</table>
</div>
{{end}}`
