package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/ingest"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/provider/local"
	"github.com/relais-ai/relais/sqlite"
)

// fakeRecalibrator records the calibrations asked for; one runs until
// finish is called.
type fakeRecalibrator struct {
	mu  sync.Mutex
	run CalibrationRun
}

func (f *fakeRecalibrator) Recalibrate() (CalibrationRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.run.Running {
		return f.run, fmt.Errorf("a calibration is running: %w", relais.ErrConflict)
	}
	f.run = CalibrationRun{Running: true, StartedAt: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
	return f.run, nil
}

func (f *fakeRecalibrator) LastRun() CalibrationRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.run
}

// TestKnowledgeInsights: an editor sees the questions the assistant could
// not answer grouped by their nearest article, labels them with it (added
// once, refused for an article that does not exist, refused to an agent),
// sees each day's outcomes and the calibration, and starts a calibration,
// one at a time.
func TestKnowledgeInsights(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := &testClock{now: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = clock.Now
	emb, err := local.NewHashingEmbedder(0)
	if err != nil {
		t.Fatal(err)
	}
	importer := &ingest.Importer{Store: db, Embedder: emb}
	if _, err := importer.SaveArticle(ctx, knowledge.Article{ExternalID: "faq:returns", Title: "Return an item", Body: "Send it back within 30 days."}); err != nil {
		t.Fatal(err)
	}
	recal := &fakeRecalibrator{}
	srv := httptest.NewServer(New(Config{
		Auth:      FirstOf{NewStaticToken(testToken), agentTokens{"agent-token": "al"}},
		Knowledge: db, Importer: importer, Insights: db, Examples: db, Recalibrator: recal, Now: clock.Now,
	}))
	t.Cleanup(srv.Close)

	decide := func(customer, text, action, reason, intent string, sources ...string) {
		t.Helper()
		r, err := db.Receive(ctx, conversation.Inbound{Channel: "api", CustomerID: customer, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.RecordDecision(ctx, conversation.DecisionRecord{ConversationID: r.Conversation.ID, MessageID: r.Message.ID,
			Action: action, Reason: reason, Intent: intent, Sources: sources})
		if err != nil {
			t.Fatal(err)
		}
	}
	clock.Set(clock.Now().AddDate(0, 0, -40)) // outside the window
	decide("zoe", "can I send back shoes", "handoff", "low_confidence", "question", "faq:returns")
	clock.Set(clock.Now().AddDate(0, 0, 38))
	decide("ann", "can I send back shoes", "handoff", "low_confidence", "question", "faq:returns")
	decide("ann", "how do I return my order", "answer", "", "question", "faq:returns")
	decide("ann", "no", "handoff", "negative_feedback", "feedback_no")
	clock.Set(clock.Now().AddDate(0, 0, 2))
	decide("bob", "sending back sandals?", "reply", "", "question", "faq:returns")
	decide("cat", "do you sell gift cards", "handoff", "no_knowledge", "question")

	call := func(token, method, path, body string, wantStatus int, out any) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&raw)
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, raw)
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, raw)
			}
		}
	}

	var gaps struct {
		Days  int       `json:"days"`
		Since time.Time `json:"since"`
		Gaps  []struct {
			ArticleID string `json:"article_id"`
			Title     string `json:"title"`
			Count     int    `json:"count"`
			Samples   []struct {
				Text   string `json:"text"`
				Reason string `json:"reason"`
			} `json:"samples"`
		} `json:"gaps"`
	}
	call(testToken, "GET", "/v1/knowledge/gaps", "", http.StatusOK, &gaps)
	if want := time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC); gaps.Days != 30 || !gaps.Since.Equal(want) {
		t.Errorf("window = %d days since %v, want 30 since %v", gaps.Days, gaps.Since, want)
	}
	summary := []string{}
	for _, g := range gaps.Gaps {
		line := fmt.Sprintf("%s %q %d:", g.ArticleID, g.Title, g.Count)
		for _, s := range g.Samples {
			line += fmt.Sprintf(" %s (%s)", s.Text, s.Reason)
		}
		summary = append(summary, line)
	}
	want := []string{
		`faq:returns "Return an item" 2: sending back sandals? (clarify) can I send back shoes (low_confidence)`,
		` "" 1: do you sell gift cards (no_knowledge)`,
	}
	if d := cmp.Diff(want, summary); d != "" {
		t.Errorf("gaps (-want +got):\n%s", d)
	}
	call(testToken, "GET", "/v1/knowledge/gaps?days=0", "", http.StatusBadRequest, nil)
	call("agent-token", "GET", "/v1/knowledge/gaps", "", http.StatusForbidden, nil)

	// Answer the gap with its article.
	body := `{"examples":[{"text":"sending back sandals?","article_id":"faq:returns"},{"text":"can I send back shoes","article_id":"faq:returns"}]}`
	var added struct{ Added, Known int }
	call(testToken, "POST", "/v1/knowledge/examples", body, http.StatusCreated, &added)
	if added.Added != 2 || added.Known != 0 {
		t.Errorf("first labelling: %+v, want 2 added", added)
	}
	call(testToken, "POST", "/v1/knowledge/examples", body, http.StatusCreated, &added)
	if added.Added != 0 || added.Known != 2 {
		t.Errorf("labelling again: %+v, want the 2 known", added)
	}
	call(testToken, "POST", "/v1/knowledge/examples", `{"examples":[{"text":"gift cards?","article_id":"faq:gift-cards"}]}`, http.StatusNotFound, nil)
	call(testToken, "POST", "/v1/knowledge/examples", `{"examples":[{"text":" ","article_id":"faq:returns"}]}`, http.StatusBadRequest, nil)
	call(testToken, "POST", "/v1/knowledge/examples", `{"examples":[]}`, http.StatusBadRequest, nil)
	call("agent-token", "POST", "/v1/knowledge/examples", body, http.StatusForbidden, nil)
	if n, err := db.CountExamples(ctx); err != nil || n != 2 {
		t.Errorf("CountExamples = %d, %v; want 2", n, err)
	}
	// Answered, the gap leaves the list.
	call(testToken, "GET", "/v1/knowledge/gaps", "", http.StatusOK, &gaps)
	if len(gaps.Gaps) != 1 || gaps.Gaps[0].ArticleID != "" {
		t.Errorf("gaps after answering faq:returns' = %+v, want only the gift cards", gaps.Gaps)
	}

	// The article's own figures: its answer, the "no" after it, the
	// request to rephrase and the handoff of the window.
	var stats articleStatsJSON
	call(testToken, "GET", "/v1/knowledge/articles/faq:returns/stats", "", http.StatusOK, &stats)
	wantStats := articleStatsJSON{ArticleID: "faq:returns", Days: 30, Since: time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC),
		Answered: 1, Clarified: 1, NotHelpful: 1, HandedOff: map[string]int{"low_confidence": 1}}
	if d := cmp.Diff(wantStats, stats); d != "" {
		t.Errorf("article stats (-want +got):\n%s", d)
	}
	call(testToken, "GET", "/v1/knowledge/articles/faq:nothing/stats", "", http.StatusNotFound, nil)
	call(testToken, "GET", "/v1/knowledge/articles/faq:returns/stats?days=400", "", http.StatusBadRequest, nil)
	call("agent-token", "GET", "/v1/knowledge/articles/faq:returns/stats", "", http.StatusForbidden, nil)

	var dash struct {
		Days  int `json:"days"`
		Daily []struct {
			Day        string         `json:"day"`
			Decided    int            `json:"decided"`
			Answered   int            `json:"answered"`
			Clarified  int            `json:"clarified"`
			HandedOff  map[string]int `json:"handed_off"`
			NotHelpful int            `json:"not_helpful"`
		} `json:"daily"`
		Totals struct {
			Decided   int            `json:"decided"`
			HandedOff map[string]int `json:"handed_off"`
		} `json:"totals"`
		Calibration struct {
			Calibration    *struct{} `json:"calibration"`
			ExamplesNow    int       `json:"examples_now"`
			CanRecalibrate bool      `json:"can_recalibrate"`
		} `json:"calibration"`
	}
	call(testToken, "GET", "/v1/knowledge/dashboard?days=3", "", http.StatusOK, &dash)
	if len(dash.Daily) != 3 || dash.Daily[0].Day != "2026-05-02" || dash.Daily[2].Day != "2026-05-04" {
		t.Fatalf("daily = %+v, want 3 days from 2026-05-02", dash.Daily)
	}
	first, last := dash.Daily[0], dash.Daily[2]
	if first.Decided != 3 || first.Answered != 1 || first.NotHelpful != 1 || first.HandedOff["low_confidence"] != 1 || first.HandedOff["negative_feedback"] != 1 {
		t.Errorf("first day = %+v", first)
	}
	if dash.Daily[1].Decided != 0 || last.Decided != 2 || last.Clarified != 1 || last.HandedOff["no_knowledge"] != 1 {
		t.Errorf("second and last days = %+v, %+v", dash.Daily[1], last)
	}
	if dash.Totals.Decided != 5 || dash.Totals.HandedOff["low_confidence"] != 1 {
		t.Errorf("totals = %+v", dash.Totals)
	}
	if dash.Calibration.Calibration != nil || dash.Calibration.ExamplesNow != 2 || !dash.Calibration.CanRecalibrate {
		t.Errorf("calibration = %+v, want none yet, 2 examples, can recalibrate", dash.Calibration)
	}

	var started struct {
		Run struct {
			Running bool `json:"running"`
		} `json:"run"`
	}
	call(testToken, "POST", "/v1/knowledge/calibration", "", http.StatusAccepted, &started)
	if !started.Run.Running {
		t.Errorf("POST /v1/knowledge/calibration: %+v, want a running calibration", started)
	}
	call(testToken, "POST", "/v1/knowledge/calibration", "", http.StatusConflict, nil)
	var state struct {
		Run struct {
			Running bool `json:"running"`
		} `json:"run"`
	}
	call(testToken, "GET", "/v1/knowledge/calibration", "", http.StatusOK, &state)
	if !state.Run.Running {
		t.Errorf("GET /v1/knowledge/calibration: %+v, want the run", state)
	}
}
