package evals

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/knowledge"
)

var update = flag.Bool("update", false, "write testdata/sample-report.html from a synthetic run, to look at in a browser")

func TestReportJSON(t *testing.T) {
	t.Parallel()
	outs := []Outcome{
		{
			Question: Question{ID: "q1", Question: "où est mon colis ?", Gold: []string{"kb:track"}, Expected: "answer"},
			Action:   "answer", Intent: "question", Cited: "kb:track", Candidate: "kb:track",
			Confidence: 0.91, Gateable: true, Latency: 12345678 * time.Nanosecond, Fold: 2,
			Retrieved: []Retrieved{{ArticleID: "kb:track", Score: 0.91}, {ArticleID: "kb:refund", Score: 0.4}},
		},
		{
			Question: Question{ID: "q2", Question: "I want to sue you", Gold: []string{}, Expected: "handoff"},
			Action:   "handoff", Reason: "sensitive_topic", Intent: "sensitive",
			Latency: 1500 * time.Microsecond, Retrieved: []Retrieved{},
		},
	}
	sum := Summarize("unit", outs)
	sum.Threshold, sum.ThresholdSource = 0.5, "pinned"
	in := Report{Summary: sum, Outcomes: outs}
	b, raw := marshalReport(t, in)
	for _, k := range []string{"dataset", "questions", "answerable", "handoff_expected", "answered", "handed_off",
		"correct", "wrong", "resolution_rate", "wrong_answer_rate", "escalation_recall", "threshold",
		"latency_ms", "by_reason", "sweep"} {
		if _, ok := raw.Summary[k]; !ok {
			t.Errorf("summary has no %q (DESIGN.md section 6): %s", k, b)
		}
	}
	if lat, _ := raw.Summary["latency_ms"].(map[string]any); lat["p50"] != 1.5 {
		t.Errorf("summary latency_ms = %v, want p50 1.5", raw.Summary["latency_ms"])
	}
	if len(raw.Questions) != 2 {
		t.Fatalf("questions: got %d, want 2", len(raw.Questions))
	}
	q := raw.Questions[0]
	for _, k := range []string{"id", "question", "expected", "gold", "action", "reason", "cited", "candidate",
		"confidence", "correct", "latency_ms", "fold", "retrieved"} {
		if _, ok := q[k]; !ok {
			t.Errorf("question has no %q: %v", k, q)
		}
	}
	if q["latency_ms"] != 12.345678 {
		t.Errorf("latency_ms = %v, want 12.345678 (milliseconds, not nanoseconds)", q["latency_ms"])
	}
	if q["correct"] != true || raw.Questions[1]["correct"] != false {
		t.Errorf("correct = %v, %v, want true, false", q["correct"], raw.Questions[1]["correct"])
	}
	if _, ok := raw.Questions[1]["gold"].([]any); !ok {
		t.Errorf("empty gold = %#v, want []", raw.Questions[1]["gold"])
	}

	var got Report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, got) {
		t.Errorf("round trip (-want +got):\n-%+v\n+%+v", in, got)
	}
}

// rawReport is a --json report as a consumer that knows no Go types reads
// it.
type rawReport struct {
	Summary   map[string]any   `json:"summary"`
	Questions []map[string]any `json:"questions"`
}

// marshalReport returns r as --json writes it, and that read back as a
// rawReport.
func marshalReport(t *testing.T, r Report) ([]byte, rawReport) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var raw rawReport
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return b, raw
}

func TestOutcomeJSONNilLists(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Outcome{Question: Question{ID: "q", Expected: "handoff"}, Action: "reply"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"gold":[]`, `"retrieved":[]`, `"latency_ms":0`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s does not contain %s", b, want)
		}
	}
}

// smallRun is a run whose numbers are easy to check by hand: 5 answerable
// questions (3 answered right, 1 wrongly, 1 handed off) and 3 for a human
// (1 answered, 1 handed off, 1 smalltalk reply).
func smallRun() (Summary, []Outcome) {
	ans := func(id, text, gold, cited string, conf float64) Outcome {
		return Outcome{Question: Question{ID: id, Question: text, Gold: []string{gold}, Expected: "answer"},
			Action: "answer", Intent: "question", Cited: cited, Candidate: cited, Confidence: conf, Gateable: true,
			Latency:   time.Duration(conf * float64(100*time.Millisecond)),
			Retrieved: []Retrieved{{ArticleID: cited, Score: conf}, {ArticleID: gold, Score: conf / 2}}}
	}
	outs := []Outcome{
		ans("a1", "How do I track my order?", "kb:track", "kb:track", 0.9),
		ans("a2", "Où est ma commande ?", "kb:track", "kb:track", 0.8),
		ans("a3", "refund please", "kb:refund", "kb:refund", 0.7),
		ans("a4", `<script>alert("x")</script> cancel my order`, "kb:cancel", "kb:change", 0.65),
		{Question: Question{ID: "a5", Question: "invoice for March?", Gold: []string{"kb:invoice"}, Expected: "answer"},
			Action: "handoff", Reason: "low_confidence", Intent: "question", Candidate: "kb:invoice", Confidence: 0.3, Gateable: true,
			Latency: 20 * time.Millisecond, Retrieved: []Retrieved{{ArticleID: "kb:invoice", Score: 0.3}}},
		{Question: Question{ID: "h1", Question: "my card was stolen", Expected: "handoff"},
			Action: "answer", Intent: "question", Cited: "kb:refund", Candidate: "kb:refund", Confidence: 0.6, Gateable: true,
			Latency: 60 * time.Millisecond, Retrieved: []Retrieved{{ArticleID: "kb:refund", Score: 0.6}}},
		{Question: Question{ID: "h2", Question: "I want a lawyer", Expected: "handoff"},
			Action: "handoff", Reason: "sensitive_topic", Intent: "sensitive", Latency: 5 * time.Millisecond},
		{Question: Question{ID: "h3", Question: "hello", Expected: "handoff"},
			Action: "reply", Intent: "smalltalk", Latency: 2 * time.Millisecond},
	}
	sum := Summarize("small", outs)
	sum.Threshold, sum.ThresholdSource = 0.42, "calibrated"
	sum.Calibrations = []FoldCalibration{{Threshold: 0.42, Source: "calibrated", Examples: 120, EstimatedResolution: 0.81, EstimatedWrongRate: 0.019}}
	return sum, outs
}

func render(t *testing.T, sum Summary, outs []Outcome) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sum, outs); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// checkSelfContained asserts what every report must be, whatever its data.
func checkSelfContained(t *testing.T, html string) {
	t.Helper()
	if !utf8.ValidString(html) {
		t.Error("report is not valid UTF-8")
	}
	lower := strings.ToLower(html)
	for _, bad := range []string{"http:", "https:", "src=", "href=", "url(", "@import", "<script", "<link", "<img", "<iframe"} {
		if i := strings.Index(lower, bad); i >= 0 {
			t.Errorf("report contains %q, it must not load anything: ...%s...", bad, html[max(0, i-80):min(len(html), i+80)])
		}
	}
	// html/template writes this where it refused an unsafe value.
	if strings.Contains(html, "ZgotmplZ") {
		t.Error("report contains ZgotmplZ: a value was rejected by html/template")
	}
	for _, want := range []string{"<!DOCTYPE html>", `<meta charset="utf-8">`, `name="viewport"`, "<svg", "</svg>", "<title id=\"chart-title\">", `role="img"`, "</html>"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestWriteHTML(t *testing.T) {
	t.Parallel()
	sum, outs := smallRun()
	html := render(t, sum, outs)
	checkSelfContained(t, html)

	for _, want := range []string{
		"Eval report: small",
		"60.0%", // resolution: 3 of 5
		"3 of 5 answerable",
		"40.0%", // wrong-answer rate: 2 of 5 answers
		"2 of 5 answers wrong, above the 2% bar",
		"66.7%", // escalation recall: 2 of 3 not answered (the reply counts)
		"of 3 questions that needed a human",
		"0.420", "calibrated",
		"5 / 2", // answered / handed off
		"1 smalltalk reply",
		"60.0 ms", "90.0 ms", // latency p50, p95
		"this run (t = 0.420)", // the operating point's label
		`<polyline class="curve"`,
		"low_confidence", "sensitive_topic", "reply:smalltalk",
		"<code>kb:cancel</code>", "<code>kb:change</code>", // the confusion
		"81.0%", "1.9%", // calibration estimates
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; cancel my order") {
		t.Error("the question with markup is not escaped as text")
	}

	// Wrong answers most confident first, then the answerable handoff.
	order := []string{"cancel my order", "my card was stolen", "invoice for March?"}
	last := -1
	for _, s := range order {
		i := strings.Index(html, s)
		if i < 0 {
			t.Fatalf("worst questions lack %q", s)
		}
		if i < last {
			t.Errorf("worst questions: %q out of order %v", s, order)
		}
		last = i
	}
	if strings.Contains(html, "How do I track my order?") {
		t.Error("a correct answer is listed among the worst questions")
	}
}

// TestWriteHTMLDisagreements: the folds' disagreements are merged, the
// example most folds answered against its label first, as escaped text.
func TestWriteHTMLDisagreements(t *testing.T) {
	t.Parallel()
	sum, outs := smallRun()
	pending := articlemodel.Disagreement{Text: "My transfer is <pending>", Label: "kb:balance", Answer: "kb:pending", Confidence: 0.97}
	sum.Calibrations = []FoldCalibration{
		{Fold: 0, Threshold: 0.9, Source: "calibrated", Examples: 400, Disagreements: []articlemodel.Disagreement{
			{Text: "update my address", Label: knowledge.HandoffLabel, Answer: "kb:details", Confidence: 0.99}, pending}},
		{Fold: 1, Threshold: 0.9, Source: "calibrated", Examples: 400, Disagreements: []articlemodel.Disagreement{
			{Text: pending.Text, Label: pending.Label, Answer: pending.Answer, Confidence: 0.98}}},
	}
	html := render(t, sum, outs)
	checkSelfContained(t, html)
	section := html[strings.Index(html, `id="disagreements"`):]
	pendingAt := strings.Index(section, "My transfer is &lt;pending&gt;")
	addressAt := strings.Index(section, "update my address")
	if pendingAt < 0 || addressAt < 0 || pendingAt > addressAt {
		t.Fatalf("disagreements: want the example of two folds before the one of one fold:\n%s", section[:min(len(section), 2000)])
	}
	row := section[pendingAt:addressAt]
	for _, want := range []string{"<code>kb:<wbr>balance<wbr></code>", "0.980", `<td class="num">2</td>`} {
		if !strings.Contains(row, want) {
			t.Errorf("merged row lacks %q: %s", want, row)
		}
	}
	if !strings.Contains(section[addressAt:], "a human (handoff)") {
		t.Error("a handoff label is not said in words")
	}
}

func TestWriteHTMLEdgeCases(t *testing.T) {
	t.Parallel()
	t.Run("empty", func(t *testing.T) {
		t.Parallel()
		html := render(t, Summarize("empty", nil), nil)
		checkSelfContained(t, html)
		for _, want := range []string{"no curve", "No wrong answers.", "Every answerable question was answered."} {
			if !strings.Contains(html, want) {
				t.Errorf("report lacks %q", want)
			}
		}
		if strings.Contains(html, "<polyline") {
			t.Error("an empty sweep drew a curve")
		}
	})
	t.Run("invalid UTF-8", func(t *testing.T) {
		t.Parallel()
		sum, outs := smallRun()
		outs[3].Question.Question = "caf\xe9 \xff order"
		sum.Dataset = "set\xfe"
		html := render(t, sum, outs)
		checkSelfContained(t, html)
		if !strings.Contains(html, "caf\uFFFD \uFFFD order") {
			t.Error("invalid bytes were not replaced")
		}
	})
	t.Run("many mistakes", func(t *testing.T) {
		t.Parallel()
		var outs []Outcome
		for i := range 200 {
			outs = append(outs, Outcome{
				Question: Question{ID: fmt.Sprint(i), Question: fmt.Sprintf("question %d", i), Gold: []string{"kb:a"}, Expected: "answer"},
				Action:   "answer", Cited: "kb:b", Candidate: "kb:b", Confidence: float64(i) / 200, Gateable: true,
			})
		}
		outs = append(outs, Outcome{Question: Question{ID: "m", Question: "missed one", Gold: []string{"kb:a"}, Expected: "answer"},
			Action: "handoff", Reason: "low_confidence", Candidate: "kb:a", Confidence: 0.1, Gateable: true})
		html := render(t, Summarize("many", outs), outs)
		if n := strings.Count(html, `<td class="q">`); n != maxWorstRows {
			t.Errorf("worst questions: %d rows, want %d", n, maxWorstRows)
		}
		if !strings.Contains(html, "missed one") {
			t.Error("the one answerable handoff gave way to wrong answers")
		}
		if !strings.Contains(html, "question 199") || strings.Contains(html, "question 100<") {
			t.Error("wrong answers are not the most confident ones")
		}
	})
}

func TestChartAxis(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		maxWrong float64
		lastTick string
	}{
		{0, "10%"},
		{0.03, "10%"},
		{0.101, "12%"},
		{0.37, "40%"},
		{0.99, "100%"},
	} {
		sum := Summary{Sweep: []SweepPoint{{Threshold: 0.5, ResolutionRate: 0.8, WrongAnswerRate: tc.maxWrong}}}
		c := newChart(sum)
		if got := c.XTicks[len(c.XTicks)-1].Label; got != tc.lastTick {
			t.Errorf("max wrong rate %g: last tick %s, want %s", tc.maxWrong, got, tc.lastTick)
		}
		if got := c.XTicks[len(c.XTicks)-1].Pos; got != f1(plotRight) {
			t.Errorf("max wrong rate %g: last tick at %s, want the plot's right edge %s", tc.maxWrong, got, f1(plotRight))
		}
		if len(c.XTicks) > 9 {
			t.Errorf("max wrong rate %g: %d ticks", tc.maxWrong, len(c.XTicks))
		}
	}
}

// TestWriteHTMLSample renders a realistic synthetic run; with -update it
// writes testdata/sample-report.html (ignored by git) to open in a browser,
// as scripts/screenshot.sh does.
func TestWriteHTMLSample(t *testing.T) {
	t.Parallel()
	sum, outs := sampleRun()
	html := render(t, sum, outs)
	checkSelfContained(t, html)
	if *update {
		path := filepath.Join("testdata", "sample-report.html")
		if err := os.WriteFile(path, []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", path, len(html))
	}
}

// sampleRun imitates a 5-fold run over a retail knowledge base: most
// answerable questions find their article with a high confidence, questions
// for a human score lower, and some customer text is hostile or not English.
func sampleRun() (Summary, []Outcome) {
	rng := rand.New(rand.NewPCG(7, 11))
	articles := []string{"bitext:cancel_order", "bitext:change_order", "bitext:check_cancellation_fee",
		"bitext:check_invoice", "bitext:check_refund_policy", "bitext:contact_customer_service",
		"bitext:create_account", "bitext:delete_account", "bitext:delivery_options", "bitext:delivery_period",
		"bitext:edit_account", "bitext:get_invoice", "bitext:get_refund", "bitext:newsletter_subscription",
		"bitext:place_order", "bitext:recover_password", "bitext:registration_problems", "bitext:review",
		"bitext:switch_account", "bitext:track_order", "bitext:track_refund"}
	phrasings := []string{"how do I %s", "I need help to %s", "can you tell me how to %s?", "where can I %s",
		"help me %s asap", "i have to %s, what do i do", "is it possible to %s from Finland?"}
	humanTexts := []string{"what's the weather like in Lyon tomorrow", "my card was charged twice and nobody answers",
		"I will take legal action if this is not fixed", "can you book me a flight to Lisbon",
		"what is the capital of Peru", "I want to talk to a real person", "my parcel arrived damaged and I am furious",
		"play some music", "Je veux parler à un conseiller, c'est inadmissible !"}
	var outs []Outcome
	for i := range 420 {
		q := Question{ID: fmt.Sprintf("rs-%05d", i+1)}
		o := Outcome{Intent: "question", Gateable: true, Fold: i % 5,
			Latency: time.Duration((3 + 25*rng.Float64()*rng.Float64() + 60*math.Pow(rng.Float64(), 30)) * float64(time.Millisecond))}
		if rng.Float64() < 0.7 {
			gold := articles[rng.IntN(len(articles))]
			q.Expected, q.Gold = "answer", []string{gold}
			topic := strings.ReplaceAll(strings.TrimPrefix(gold, "bitext:"), "_", " ")
			q.Question = fmt.Sprintf(phrasings[rng.IntN(len(phrasings))], topic)
			o.Candidate, o.Confidence = gold, 0.35+0.65*math.Sqrt(rng.Float64())
			if rng.Float64() < 0.16 {
				o.Candidate, o.Confidence = articles[rng.IntN(len(articles))], 0.15+0.6*rng.Float64()
			}
		} else {
			q.Expected = "handoff"
			q.Question = humanTexts[rng.IntN(len(humanTexts))]
			o.Candidate, o.Confidence = articles[rng.IntN(len(articles))], 0.05+0.7*math.Pow(rng.Float64(), 1.6)
		}
		// Hostile, non-English and rambling messages, among the worst
		// questions where the report must show them intact.
		switch i {
		case 3:
			q.Question, q.Expected, q.Gold = `<script>alert("pwned")</script> where is my refund?? <b>now</b>`, "answer", []string{"bitext:track_refund"}
			o.Candidate, o.Confidence = "bitext:get_refund", 0.97
		case 4:
			q.Question, q.Expected, q.Gold = "Où en est mon remboursement ? J'ai renvoyé le colis il y a trois semaines déjà 😡", "answer", []string{"bitext:track_refund"}
			o.Candidate, o.Confidence, o.Gateable = "bitext:track_refund", 0.61, true
		case 5:
			q.Question, q.Expected, q.Gold = strings.Repeat("I ordered a sofa in March and it still has not arrived, ", 6)+"what is going on?", "answer", []string{"bitext:delivery_period"}
			o.Candidate, o.Confidence = "bitext:track_order", 0.9
		}
		o.Question = q
		o.Retrieved = []Retrieved{{ArticleID: o.Candidate, Score: o.Confidence}}
		for len(o.Retrieved) < 3 {
			a := articles[rng.IntN(len(articles))]
			if len(o.Retrieved) == 1 && q.Answerable() && o.Candidate != q.Gold[0] && rng.Float64() < 0.6 {
				a = q.Gold[0]
			}
			if slices.ContainsFunc(o.Retrieved, func(r Retrieved) bool { return r.ArticleID == a }) {
				continue
			}
			o.Retrieved = append(o.Retrieved, Retrieved{ArticleID: a, Score: o.Retrieved[len(o.Retrieved)-1].Score * (0.6 + 0.35*rng.Float64())})
		}
		const threshold = 0.62
		switch r := rng.Float64(); {
		case i >= 3 && i <= 5:
			o.Action, o.Cited = "answer", o.Candidate
			if o.Confidence < threshold {
				o.Action, o.Reason, o.Cited = "handoff", "low_confidence", ""
			}
		case q.Expected == "handoff" && r < 0.12:
			o.Action, o.Reason, o.Intent, o.Gateable = "handoff", "sensitive_topic", "sensitive", false
		case q.Expected == "handoff" && r < 0.18:
			o.Action, o.Reason, o.Intent, o.Gateable = "handoff", "customer_request", "human_request", false
		case q.Expected == "handoff" && r < 0.22:
			o.Action, o.Intent, o.Gateable, o.Retrieved, o.Candidate, o.Confidence = "reply", "smalltalk", false, nil, "", 0
		case r < 0.03:
			o.Action, o.Reason = "handoff", "clarify"
		case o.Confidence >= threshold:
			o.Action, o.Cited = "answer", o.Candidate
		case o.Confidence < 0.2:
			o.Action, o.Reason = "handoff", "no_knowledge"
		default:
			o.Action, o.Reason = "handoff", "low_confidence"
		}
		outs = append(outs, o)
	}
	sum := Summarize("retail_support", outs)
	sum.Folds, sum.Examples, sum.Duration = 5, 336, 14.2
	for f := range 5 {
		sum.Calibrations = append(sum.Calibrations, FoldCalibration{Fold: f, Threshold: 0.6 + 0.01*float64(f), Source: "calibrated",
			Examples: 336, EstimatedResolution: 0.7 + 0.02*rng.Float64(), EstimatedWrongRate: 0.015 + 0.01*rng.Float64()})
	}
	sum.Threshold, sum.ThresholdSource = 0.62, "calibrated (mean of 5 folds)"
	return sum, outs
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteHTMLWriteError(t *testing.T) {
	t.Parallel()
	sum, outs := smallRun()
	if err := WriteHTML(failingWriter{}, sum, outs); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("WriteHTML to a failing writer: err = %v, want the writer's error", err)
	}
	var o Outcome
	if err := json.Unmarshal([]byte(`{"latency_ms":"slow"}`), &o); err == nil {
		t.Error("a malformed outcome unmarshalled without error")
	}
}

func TestSweepSurvivesNaNConfidence(t *testing.T) {
	t.Parallel()
	q := Question{ID: "q", Question: "q", Gold: []string{"kb:a"}, Expected: "answer"}
	outs := []Outcome{
		{Question: q, Action: "handoff", Candidate: "kb:a", Confidence: math.NaN(), Gateable: true},
		{Question: q, Action: "answer", Cited: "kb:a", Candidate: "kb:a", Confidence: 0.9, Gateable: true},
	}
	done := make(chan []SweepPoint)
	go func() { done <- Sweep(outs) }()
	select {
	case pts := <-done:
		for _, p := range pts {
			if math.IsNaN(p.Threshold) {
				t.Errorf("sweep point at a NaN threshold: %+v", p)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sweep does not return on a NaN confidence")
	}
}
