package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const judgeEvalKB = `{"id":"kb:cancel","title":"Cancel an order","body":"Open your order details and press Cancel order. Orders that have shipped cannot be cancelled.","source":"faq"}
{"id":"kb:password","title":"Reset your password","body":"Choose Forgot password on the sign-in page and follow the link we email you.","source":"faq"}
{"id":"kb:parcel","title":"Track your parcel","body":"Track your parcel from the link in your shipping email.","source":"faq"}
`

const judgeEvalQuestions = `{"id":"q-cancel","question":"How do I cancel my order?","gold_article_ids":["kb:cancel"],"expected":"answer"}
{"id":"q-password","question":"How do I reset my password?","gold_article_ids":["kb:password"],"expected":"answer"}
{"id":"q-parcel","question":"Where is my parcel? I want to track my parcel","gold_article_ids":["kb:parcel"],"expected":"answer"}
`

var firstPassageID = regexp.MustCompile(`<passage id="([^"]+)"`)

// fakeChat serves /v1/chat/completions as an OpenAI-compatible server
// would, telling the generator's requests from the judge's by the schema
// they ask for. The generator cites the first passage it is given; the
// judge finds the password answer incorrect, replies in prose (unusable)
// about the parcel one, and accepts the rest. judged counts judge requests.
func fakeChat(t *testing.T, judged *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
			ResponseFormat struct {
				JSONSchema struct {
					Name string `json:"name"`
				} `json:"json_schema"`
			} `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) != 2 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		user := req.Messages[1].Content
		var content string
		switch req.ResponseFormat.JSONSchema.Name {
		case "relais_answer":
			m := firstPassageID.FindStringSubmatch(user)
			if m == nil {
				content = `{"refuse":true,"answer":"","citations":[]}`
				break
			}
			b, _ := json.Marshal(map[string]any{"refuse": false, "answer": "Here is what to do, from our help centre.", "citations": []string{m[1]}})
			content = string(b)
		case "relais_judgement":
			judged.Add(1)
			switch {
			case strings.Contains(user, "password"):
				content = `{"verdict":"incorrect","reason":"The answer does not say to choose Forgot password."}`
			case strings.Contains(user, "parcel"):
				content = "The answer looks fine to me."
			default:
				content = `{"verdict":"correct","reason":"Supported by the article."}`
			}
		default:
			http.Error(w, "unexpected response_format", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion", "created": time.Now().Unix(), "model": "fake-chat",
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": content}}},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestEvalJudge(t *testing.T) {
	t.Parallel()
	var judged atomic.Int64
	c := newCLI(t, "sqlite")
	c.env["RELAIS_LLM_BASE_URL"] = fakeChat(t, &judged).URL + "/v1"
	c.env["RELAIS_CHAT_MODEL"] = "fake-chat"
	dir := t.TempDir()
	kb := writeFile(t, dir, "kb.jsonl", judgeEvalKB)
	qs := writeFile(t, dir, "questions.jsonl", judgeEvalQuestions)
	out := filepath.Join(dir, "out.json")

	stdout := c.mustRun("eval", "--kb", kb, "--questions", qs, "--threshold", "0.01", "--judge", "--json", out)
	if want := "judge: fake-chat, 2 answers judged, 1 judged incorrect, 1 judge errors"; !strings.Contains(stdout, want) {
		t.Errorf("eval output lacks %q:\n%s", want, stdout)
	}
	if judged.Load() != 3 {
		t.Errorf("the judge was asked %d times, want 3 (once per answer; an unusable reply is not retried)", judged.Load())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Summary struct {
			Answered        int    `json:"answered"`
			Correct         int    `json:"correct"`
			Wrong           int    `json:"wrong"`
			Judge           string `json:"judge"`
			Judged          int    `json:"judged"`
			JudgedIncorrect int    `json:"judged_incorrect"`
			JudgeErrors     int    `json:"judge_errors"`
		} `json:"summary"`
		Questions []struct {
			ID           string `json:"id"`
			Cited        string `json:"cited"`
			Correct      bool   `json:"correct"`
			JudgeVerdict string `json:"judge_verdict"`
			JudgeReason  string `json:"judge_reason"`
			JudgeError   string `json:"judge_error"`
		} `json:"questions"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	if s.Answered != 3 || s.Correct != 2 || s.Wrong != 1 || s.Judge != "fake-chat" || s.Judged != 2 || s.JudgedIncorrect != 1 || s.JudgeErrors != 1 {
		t.Errorf("summary = %+v, want 3 answered, 2 correct, 1 wrong; judge fake-chat, 2 judged, 1 incorrect, 1 error", s)
	}
	if len(rep.Questions) != 3 {
		t.Errorf("%d questions in the JSON report, want 3", len(rep.Questions))
	}
	for _, q := range rep.Questions {
		switch q.ID {
		case "q-password":
			if q.Cited != "kb:password" || q.Correct || q.JudgeVerdict != "incorrect" || !strings.Contains(q.JudgeReason, "Forgot password") {
				t.Errorf("%s = %+v, want the gold article cited, judged incorrect with the judge's reason", q.ID, q)
			}
		case "q-parcel":
			if !q.Correct || q.JudgeVerdict != "" || !strings.Contains(q.JudgeError, "not valid JSON") {
				t.Errorf("%s = %+v, want the offline verdict kept and the judge error recorded", q.ID, q)
			}
		case "q-cancel":
			if !q.Correct || q.JudgeVerdict != "correct" {
				t.Errorf("%s = %+v, want judged correct", q.ID, q)
			}
		}
	}

	// Off by default: the same run without --judge never asks the judge.
	judged.Store(0)
	stdout = c.mustRun("eval", "--kb", kb, "--questions", qs, "--threshold", "0.01")
	if strings.Contains(stdout, "judge:") || judged.Load() != 0 {
		t.Errorf("without --judge: judge asked %d times, output:\n%s", judged.Load(), stdout)
	}
}

func TestEvalJudgeNeedsChatModel(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	_, _, err := c.run(context.Background(), "eval", "--kb", "kb.jsonl", "--questions", "q.jsonl", "--judge")
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "RELAIS_LLM_BASE_URL") || !strings.Contains(err.Error(), "RELAIS_CHAT_MODEL") {
		t.Errorf("--judge without a chat model: err = %v, want a usage error naming RELAIS_LLM_BASE_URL and RELAIS_CHAT_MODEL", err)
	}
	_, stderr, err := c.run(context.Background(), "eval", "-h")
	if (err != nil && !errors.Is(err, flag.ErrHelp)) || !strings.Contains(stderr, "[--judge]") || !strings.Contains(stderr, "-judge") {
		t.Errorf("eval -h: err %v, usage lacks --judge:\n%s", err, stderr)
	}
}

func TestEvalSuiteMaxQuestions(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	dir := t.TempDir()
	for name, qs := range map[string]string{
		"small": judgeEvalQuestions,
		"large": judgeEvalQuestions + `{"id":"q-more","question":"Can I cancel an order that shipped?","gold_article_ids":["kb:cancel"],"expected":"answer"}` + "\n",
	} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), "kb.jsonl", judgeEvalKB)
		writeFile(t, filepath.Join(dir, name), "questions.jsonl", qs)
	}
	out := c.mustRun("eval", "--suite", dir, "--max-questions", "3", "--threshold", "0.01")
	if !strings.Contains(out, "note: large skipped: 4 questions, over --max-questions 3") || !regexp.MustCompile(`(?m)^small\s+3\s`).MatchString(out) {
		t.Errorf("--max-questions 3: want small run and large skipped:\n%s", out)
	}
	if strings.Contains(out, "\nlarge ") {
		t.Errorf("large was run:\n%s", out)
	}
	for _, args := range [][]string{
		{"--suite", dir, "--max-questions", "-1"},
		{"--suite", dir, "--max-questions", "3", "--write-baseline", filepath.Join(dir, "b.json")},
		{"--kb", "kb.jsonl", "--questions", "q.jsonl", "--max-questions", "3"},
	} {
		_, _, err := c.run(t.Context(), append([]string{"eval"}, args...)...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("eval %q: err = %v, want a usage error", args, err)
		}
	}
}

// TestEvalSameDecisionsOnBothStores: the classifier reads the message's
// text and its probability is the confidence, and both stores rank by the
// same in-process code, so the embedded store and PostgreSQL calibrate the
// same threshold and take the same decision on every question.
func TestEvalSameDecisionsOnBothStores(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kb := writeFile(t, dir, "kb.jsonl", judgeEvalKB)
	var qs strings.Builder
	objects := strings.Fields("order parcel purchase basket delivery subscription booking ticket voucher plan membership reservation rental upgrade")
	add := func(id, text, gold string) {
		expected, golds := "handoff", "[]"
		if gold != "" {
			expected, golds = "answer", `["`+gold+`"]`
		}
		fmt.Fprintf(&qs, `{"id":%q,"question":%q,"gold_article_ids":%s,"expected":%q}`+"\n", id, text, golds, expected)
	}
	for i, o := range objects {
		for j, form := range []string{"how do I cancel my %s", "please cancel the %s I made", "I no longer want my %s, cancel it"} {
			add(fmt.Sprintf("c%d-%d", i, j), fmt.Sprintf(form, o), "kb:cancel")
		}
		for j, form := range []string{"where is my %s", "track my %s please", "has my %s shipped yet"} {
			add(fmt.Sprintf("t%d-%d", i, j), fmt.Sprintf(form, o), "kb:parcel")
		}
		for j, form := range []string{"I forgot the password of my %s account", "reset the password for the %s site"} {
			add(fmt.Sprintf("p%d-%d", i, j), fmt.Sprintf(form, o), "kb:password")
		}
		for j, form := range []string{"your %s service is a disgrace", "I will sue you over the %s", "my %s arrived broken and I am furious", "the %s was charged twice"} {
			add(fmt.Sprintf("h%d-%d", i, j), fmt.Sprintf(form, o), "")
		}
	}
	questions := writeFile(t, dir, "questions.jsonl", qs.String())
	outcomes := map[string]map[string]any{}
	thresholds := map[string][]float64{}
	for _, kind := range stores {
		out := filepath.Join(dir, kind+".json")
		newCLI(t, kind).mustRun("eval", "--kb", kb, "--questions", questions, "--folds", "5", "--json", out)
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Summary struct {
				Calibrations []struct {
					Threshold float64 `json:"threshold"`
					Source    string  `json:"source"`
				} `json:"calibrations"`
			} `json:"summary"`
			Questions []map[string]any `json:"questions"`
		}
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatal(err)
		}
		for _, c := range rep.Summary.Calibrations {
			if c.Source != "calibrated" {
				t.Fatalf("%s: a fold was not calibrated (%s): the test needs 100 examples a fold", kind, c.Source)
			}
			thresholds[kind] = append(thresholds[kind], c.Threshold)
		}
		for _, q := range rep.Questions {
			key := fmt.Sprint(q["id"])
			if prev, ok := outcomes[key]; ok {
				for _, f := range []string{"action", "cited", "confidence", "correct"} {
					if fmt.Sprint(prev[f]) != fmt.Sprint(q[f]) {
						t.Errorf("%s: %s %v on %s, %v on %s", key, f, prev[f], stores[0], q[f], kind)
					}
				}
			}
			outcomes[key] = q
		}
	}
	if a, b := thresholds[stores[0]], thresholds[stores[len(stores)-1]]; fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("calibrated thresholds by fold: %v on %s, %v on %s", a, stores[0], b, stores[len(stores)-1])
	}
	if len(outcomes) != 12*len(objects) {
		t.Errorf("%d questions compared, want %d", len(outcomes), 12*len(objects))
	}
	answered := 0
	for _, q := range outcomes {
		if q["action"] == "answer" {
			answered++
		}
	}
	if answered == 0 || answered == len(outcomes) {
		t.Errorf("%d of %d questions answered: the comparison needs answers and handoffs both", answered, len(outcomes))
	}
}
