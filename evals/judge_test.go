package evals

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/provider/local"
	"github.com/relais-ai/relais/sqlite"
)

const judgeKB = `{"id":"kb:cancel","title":"Cancel an order","body":"Open your order details and press Cancel order. Orders that have shipped cannot be cancelled.","source":"faq"}
{"id":"kb:password","title":"Reset your password","body":"Choose Forgot password on the sign-in page and follow the link we email you.","source":"faq"}
{"id":"kb:parcel","title":"Track your parcel","body":"Track your parcel from the link in your shipping email.","source":"faq"}
`

func judgeQuestions() []Question {
	return []Question{
		{ID: "cancel", Question: "How do I cancel my order?", Gold: []string{"kb:cancel"}, Expected: "answer"},
		{ID: "password", Question: "How do I reset my password?", Gold: []string{"kb:password"}, Expected: "answer"},
		{ID: "parcel", Question: "Where is my parcel? I want to track my parcel", Gold: []string{"kb:parcel", "kb:missing"}, Expected: "answer"},
	}
}

// citingGenerator answers every question citing the first passage it is
// given, as a model that trusts retrieval would.
type citingGenerator struct{}

func (citingGenerator) Generate(_ context.Context, req assistant.GenerateRequest) (assistant.Generated, error) {
	if len(req.Passages) == 0 {
		return assistant.Generated{Refused: true, Model: "fake-writer"}, nil
	}
	return assistant.Generated{Text: "Written answer to: " + req.Question,
		Citations: []string{req.Passages[0].ArticleID}, Model: "fake-writer"}, nil
}

// fakeJudge grades by the gold article: it finds the cancel answer
// incorrect, cannot be reached for the password one, and accepts the rest.
type fakeJudge struct {
	mu   sync.Mutex
	seen []JudgeRequest
}

func (j *fakeJudge) Judge(_ context.Context, req JudgeRequest) (JudgeVerdict, error) {
	j.mu.Lock()
	j.seen = append(j.seen, req)
	j.mu.Unlock()
	switch req.Gold[0].ID {
	case "kb:cancel":
		return JudgeVerdict{Correct: false, Reason: "the answer leaves out that shipped orders cannot be cancelled", Model: "fake-judge"}, nil
	case "kb:password":
		return JudgeVerdict{}, fmt.Errorf("judge answer: openai chat: HTTP 503 Service Unavailable: %w", relais.ErrUnavailable)
	default:
		return JudgeVerdict{Correct: true, Reason: "supported", Model: "fake-judge"}, nil
	}
}

func (j *fakeJudge) requests() map[string]JudgeRequest {
	j.mu.Lock()
	defer j.mu.Unlock()
	m := make(map[string]JudgeRequest)
	for _, r := range j.seen {
		m[r.Gold[0].ID] = r
	}
	return m
}

// judgeRunner runs on a fresh embedded store with the offline embedder and
// a pinned threshold, so that every question above is answered.
func judgeRunner(t *testing.T, gen assistant.Generator, judge Judge) *Runner {
	t.Helper()
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	return &Runner{
		NewStore: func(ctx context.Context) (Store, func(), error) {
			db, err := sqlite.Open(ctx, t.TempDir(), log)
			if err != nil {
				return nil, nil, err
			}
			return db, func() { db.Close() }, nil
		},
		Embedder:   emb,
		Generator:  gen,
		Judge:      judge,
		JudgeModel: "fake-judge",
		Threshold:  0.01,
		Logger:     log,
	}
}

func runJudged(t *testing.T, r *Runner) (Summary, map[string]Outcome) {
	t.Helper()
	sum, outs, err := r.Run(t.Context(), Dataset{Name: "judge", KBName: "kb.jsonl", KB: []byte(judgeKB), Questions: judgeQuestions()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	byID := make(map[string]Outcome)
	for _, o := range outs {
		byID[o.Question.ID] = o
	}
	for id, o := range byID {
		if !o.Answered() || !o.Question.IsGold(o.Cited) {
			t.Fatalf("question %s: action %s citing %q, want an answer citing its gold article (the test needs it)", id, o.Action, o.Cited)
		}
	}
	return sum, byID
}

func TestRunJudgeOverturnsCitedButWrongAnswer(t *testing.T) {
	t.Parallel()
	judge := &fakeJudge{}
	sum, outs := runJudged(t, judgeRunner(t, citingGenerator{}, judge))

	tests := []struct {
		id                   string
		wantCorrect          bool
		wantVerdict, wantErr string
	}{
		{"cancel", false, VerdictIncorrect, ""},
		{"password", true, "", "HTTP 503"}, // the judge failed: the cited article decides
		{"parcel", true, VerdictCorrect, ""},
	}
	for _, tt := range tests {
		o := outs[tt.id]
		if o.Correct() != tt.wantCorrect || o.JudgeVerdict != tt.wantVerdict || !strings.Contains(o.JudgeError, tt.wantErr) || (tt.wantErr == "") != (o.JudgeError == "") {
			t.Errorf("%s: correct %v, verdict %q, judge error %q; want %v, %q, an error saying %q",
				tt.id, o.Correct(), o.JudgeVerdict, o.JudgeError, tt.wantCorrect, tt.wantVerdict, tt.wantErr)
		}
	}
	if got := outs["cancel"].JudgeReason; !strings.Contains(got, "shipped orders") {
		t.Errorf("cancel: judge reason %q, want the judge's", got)
	}

	type counts struct {
		Correct, Wrong                       int
		Judge                                string
		Judged, JudgedIncorrect, JudgeErrors int
	}
	want := counts{Correct: 2, Wrong: 1, Judge: "fake-judge", Judged: 2, JudgedIncorrect: 1, JudgeErrors: 1}
	got := counts{sum.Correct, sum.Wrong, sum.Judge, sum.Judged, sum.JudgedIncorrect, sum.JudgeErrors}
	if got != want {
		t.Errorf("summary (-want +got):\n- %+v\n+ %+v", want, got)
	}
	if sum.ResolutionRate != 2.0/3 {
		t.Errorf("resolution_rate = %v, want 2/3", sum.ResolutionRate)
	}

	// The judge read the question, the model's answer and the gold articles
	// found in the knowledge base.
	req := judge.requests()["kb:parcel"]
	if req.Question != judgeQuestions()[2].Question || req.Answer != "Written answer to: "+req.Question {
		t.Errorf("judge request question %q, answer %q; want the question and the generated answer", req.Question, req.Answer)
	}
	if len(req.Gold) != 1 || req.Gold[0].Title != "Track your parcel" || !strings.Contains(req.Gold[0].Body, "shipping email") {
		t.Errorf("judge request gold = %+v, want kb:parcel's title and body (kb:missing is not in the knowledge base)", req.Gold)
	}

	_, raw := marshalReport(t, Report{Summary: sum, Outcomes: []Outcome{outs["cancel"], outs["password"]}})
	if raw.Summary["judge"] != "fake-judge" || raw.Summary["judge_errors"] != 1.0 {
		t.Errorf("summary judge = %v, judge_errors = %v; want fake-judge, 1", raw.Summary["judge"], raw.Summary["judge_errors"])
	}
	if q := raw.Questions[0]; q["judge_verdict"] != "incorrect" || q["judge_reason"] == nil || q["correct"] != false {
		t.Errorf("cancel outcome JSON = %v, want judge_verdict incorrect with its reason, not correct", q)
	}
	if q := raw.Questions[1]; q["judge_verdict"] != nil || q["judge_error"] == nil || q["correct"] != true {
		t.Errorf("password outcome JSON = %v, want a judge_error and the offline verdict", q)
	}
}

func TestRunJudgeOffOrExtractive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		gen   assistant.Generator
		judge *fakeJudge
	}{
		{"no judge", citingGenerator{}, nil},
		// Extractive answers quote the cited article: nothing to judge.
		{"no generator", nil, &fakeJudge{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := judgeRunner(t, tt.gen, nil)
			if tt.judge != nil {
				r.Judge = tt.judge
			}
			sum, outs := runJudged(t, r)
			if sum.Correct != 3 || sum.Wrong != 0 || sum.Judged != 0 || sum.JudgeErrors != 0 {
				t.Errorf("summary: correct %d, wrong %d, judged %d, judge errors %d; want 3, 0, 0, 0",
					sum.Correct, sum.Wrong, sum.Judged, sum.JudgeErrors)
			}
			for id, o := range outs {
				if o.JudgeVerdict != "" || o.JudgeError != "" {
					t.Errorf("%s: judged (%q, %q) though nothing should be", id, o.JudgeVerdict, o.JudgeError)
				}
			}
			if tt.judge != nil && len(tt.judge.requests()) != 0 {
				t.Errorf("the judge was asked %d times about extractive answers", len(tt.judge.requests()))
			}
			b, _ := marshalReport(t, Report{Summary: sum})
			if js := string(b); tt.judge == nil && (strings.Contains(js, `"judge":`) || strings.Contains(js, `"judge_`) || strings.Contains(js, `"judged`)) {
				t.Errorf("the summary mentions a judge that did not run: %s", b)
			}
		})
	}
}

func TestSummarizeJudgedSweep(t *testing.T) {
	t.Parallel()
	// A judged-incorrect answer stays wrong in the sweep, at the run's
	// threshold and below it.
	o := Outcome{Question: Question{ID: "q", Question: "q", Gold: []string{"kb:a"}, Expected: "answer"},
		Action: "answer", Intent: "question", Cited: "kb:a", Candidate: "kb:a", Confidence: 0.9, Gateable: true,
		JudgeVerdict: VerdictIncorrect}
	sum := Summarize("s", []Outcome{o})
	if sum.Correct != 0 || sum.Wrong != 1 || len(sum.Sweep) != 1 || sum.Sweep[0].WrongAnswerRate != 1 {
		t.Errorf("correct %d, wrong %d, sweep %+v; want 0, 1 and a sweep with every answer wrong", sum.Correct, sum.Wrong, sum.Sweep)
	}
	if len(sum.Confusions) != 1 || sum.Confusions[0].Cited != "kb:a (judged incorrect)" {
		t.Errorf("confusions = %+v, want kb:a marked as judged incorrect", sum.Confusions)
	}
}
