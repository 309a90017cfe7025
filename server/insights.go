package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/ingest"
	"github.com/relais-ai/relais/knowledge"
)

// ExampleStore is what the knowledge console's examples and calibration
// need: storing the questions editors label, and reading the calibration
// with the count of examples it can be compared with.
type ExampleStore interface {
	ingest.ExampleStore
	CountExamples(ctx context.Context) (int, error)
	Calibration(ctx context.Context) (knowledge.Calibration, error)
}

// Recalibrator re-estimates the confidence threshold from the stored
// examples in the background: a calibration takes from seconds to minutes,
// longer than a request may.
type Recalibrator interface {
	// Recalibrate starts a calibration and returns its run;
	// relais.ErrConflict while one is running.
	Recalibrate() (CalibrationRun, error)
	// LastRun is the running calibration, or the last one since the
	// process started (zero when none).
	LastRun() CalibrationRun
}

// CalibrationRun is one calibration started from the API.
type CalibrationRun struct {
	Running    bool
	StartedAt  time.Time
	FinishedAt time.Time
	// Done and Total count the examples replayed so far.
	Done, Total int
	// Error says why it failed; "" when it did not. Too few examples is
	// not a failure: TooFew is set, and the default threshold stays.
	Error  string
	TooFew bool
}

// The window of the knowledge console's gaps and dashboard, in days.
const (
	DefaultInsightDays = 30
	MaxInsightDays     = 365
)

// MaxExamplesPerRequest bounds POST /v1/knowledge/examples: the questions
// of a gap, not a history file (that is POST /v1/knowledge/import's job,
// or relais ingest --examples).
const MaxExamplesPerRequest = 100

// ReasonClarify is a gap's reason in the API when the assistant asked the
// customer to rephrase: a reply, which has no reason of its own.
const ReasonClarify = "clarify"

// ExampleSource is the Source of the examples editors add in the console.
const ExampleSource = "console"

// insightWindow reads ?days= and returns it with the first instant of the
// window: midnight UTC, days-1 days before today, so that the window is
// whole days and today's count is the last.
func (s *Server) insightWindow(r *http.Request) (int, time.Time, error) {
	days, err := intParam(r.URL.Query().Get("days"), DefaultInsightDays, 1, MaxInsightDays, "days")
	if err != nil {
		return 0, time.Time{}, err
	}
	return days, conversation.StartOfDay(s.now()).AddDate(0, 0, -(days - 1)), nil
}

type gapSampleJSON struct {
	Text           string    `json:"text"`
	Times          int       `json:"times"`
	Reason         string    `json:"reason"`
	ConversationID int64     `json:"conversation_id"`
	DecidedAt      time.Time `json:"decided_at"`
}

type gapJSON struct {
	// ArticleID is the nearest article's external id, "" when nothing
	// came close; Title is "" too when the article has since been deleted.
	ArticleID string          `json:"article_id"`
	Title     string          `json:"title"`
	Count     int             `json:"count"`
	LastAt    time.Time       `json:"last_at"`
	Samples   []gapSampleJSON `json:"samples"`
}

// listGaps serves GET /v1/knowledge/gaps?days=&limit=&samples=: the
// questions the assistant could not answer, grouped by nearest article.
func (s *Server) listGaps(w http.ResponseWriter, r *http.Request) {
	days, since, err := s.insightWindow(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), 20, 1, conversation.MaxGapGroups, "limit")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	samples, err := intParam(q.Get("samples"), 5, 1, conversation.MaxGapSamples, "samples")
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	gaps, err := s.cfg.Insights.Gaps(r.Context(), conversation.GapQuery{Since: since, Groups: limit, Samples: samples})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var ids []string
	for _, g := range gaps {
		if g.ArticleID != "" {
			ids = append(ids, g.ArticleID)
		}
	}
	titles := map[string]string{}
	if len(ids) > 0 {
		arts, err := s.cfg.Knowledge.ArticlesByExternalID(r.Context(), ids)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		for _, a := range arts {
			titles[a.ExternalID] = a.Title
		}
	}
	out := make([]gapJSON, len(gaps))
	for i, g := range gaps {
		out[i] = gapJSON{ArticleID: g.ArticleID, Title: titles[g.ArticleID], Count: g.Count, LastAt: g.LastAt,
			Samples: make([]gapSampleJSON, len(g.Samples))}
		for j, sm := range g.Samples {
			reason := sm.Reason
			if reason == "" {
				reason = ReasonClarify
			}
			out[i].Samples[j] = gapSampleJSON{Text: sm.Text, Times: sm.Times, Reason: reason,
				ConversationID: sm.ConversationID, DecidedAt: sm.At}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"days": days, "since": since, "gaps": out})
}

type exampleInput struct {
	Text      string `json:"text"`
	ArticleID string `json:"article_id"`
}

// addExamples serves POST /v1/knowledge/examples {"examples": [{"text",
// "article_id"}]}: an editor labels questions with the article that
// answers them (a gap's "answer it with this article"). Retrieval matches
// them at once; the threshold learns from them at the next calibration.
func (s *Server) addExamples(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Examples []exampleInput `json:"examples"`
	}
	if err := decodeJSON(w, r, &in, 1<<20); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if len(in.Examples) == 0 || len(in.Examples) > MaxExamplesPerRequest {
		writeError(w, r, s.log, fmt.Errorf("examples must hold from 1 to %d questions, got %d: %w",
			MaxExamplesPerRequest, len(in.Examples), relais.ErrInvalid))
		return
	}
	examples := make([]knowledge.Example, len(in.Examples))
	for i, e := range in.Examples {
		text, err := knowledge.ValidateExampleText(e.Text)
		switch {
		case err != nil:
			writeError(w, r, s.log, fmt.Errorf("examples[%d].text: %w", i, err))
			return
		case strings.TrimSpace(e.ArticleID) == "":
			writeError(w, r, s.log, fmt.Errorf("examples[%d].article_id is required: %w", i, relais.ErrInvalid))
			return
		}
		examples[i] = knowledge.Example{Text: text, ArticleID: strings.TrimSpace(e.ArticleID)}
	}
	added, err := s.cfg.Importer.AddExamples(r.Context(), s.cfg.Examples, ExampleSource, examples)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"added": added, "known": len(examples) - added})
}

type dayJSON struct {
	Day        string         `json:"day,omitempty"` // YYYY-MM-DD, UTC; none in the totals
	Decided    int            `json:"decided"`
	Answered   int            `json:"answered"`
	Clarified  int            `json:"clarified"`
	Replied    int            `json:"replied"`
	HandedOff  map[string]int `json:"handed_off"`
	Helpful    int            `json:"helpful"`
	NotHelpful int            `json:"not_helpful"`
}

// toDayJSON is d without its day, which a total does not have.
func toDayJSON(d conversation.DayOutcomes) dayJSON {
	handedOff := d.HandedOff
	if handedOff == nil {
		handedOff = map[string]int{}
	}
	return dayJSON{Decided: d.Decided, Answered: d.Answered, Clarified: d.Clarified, Replied: d.Replied,
		HandedOff: handedOff, Helpful: d.Helpful, NotHelpful: d.NotHelpful}
}

type calibrationJSON struct {
	Threshold           float64   `json:"threshold"`
	MaxWrongRate        float64   `json:"max_wrong_rate"`
	Samples             int       `json:"samples"`
	Examples            int       `json:"examples"`
	EstimatedResolution float64   `json:"estimated_resolution"`
	EstimatedWrongRate  float64   `json:"estimated_wrong_rate"`
	Method              string    `json:"method"`
	EmbeddingModel      string    `json:"embedding_model"`
	CreatedAt           time.Time `json:"created_at"`
}

type calibrationRunJSON struct {
	Running    bool       `json:"running"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Done       int        `json:"done"`
	Total      int        `json:"total"`
	Error      string     `json:"error,omitempty"`
	TooFew     bool       `json:"too_few,omitempty"`
}

func toCalibrationRunJSON(run CalibrationRun) *calibrationRunJSON {
	if run.StartedAt.IsZero() {
		return nil
	}
	out := &calibrationRunJSON{Running: run.Running, StartedAt: &run.StartedAt, Done: run.Done, Total: run.Total,
		Error: run.Error, TooFew: run.TooFew}
	if !run.FinishedAt.IsZero() {
		out.FinishedAt = &run.FinishedAt
	}
	return out
}

// calibrationStateJSON is what the console shows of the calibration: the
// current one (null before the first), the examples stored now (more than
// it was estimated from: it is stale), a threshold the operator pinned,
// and the calibration started from the API.
type calibrationStateJSON struct {
	Calibration      *calibrationJSON    `json:"calibration"`
	ExamplesNow      int                 `json:"examples_now"`
	MinExamples      int                 `json:"min_examples"`
	DefaultThreshold float64             `json:"default_threshold"`
	PinnedThreshold  float64             `json:"pinned_threshold,omitempty"`
	CanRecalibrate   bool                `json:"can_recalibrate"`
	Run              *calibrationRunJSON `json:"run,omitempty"`
}

func (s *Server) calibrationState(ctx context.Context) (calibrationStateJSON, error) {
	out := calibrationStateJSON{MinExamples: articlemodel.MinCalibrationExamples, DefaultThreshold: assistant.DefaultThreshold,
		CanRecalibrate: s.cfg.Recalibrator != nil}
	if s.cfg.Messages != nil && s.cfg.Messages.Assistant != nil {
		out.PinnedThreshold = s.cfg.Messages.Assistant.Config.Threshold
	}
	if s.cfg.Recalibrator != nil {
		out.Run = toCalibrationRunJSON(s.cfg.Recalibrator.LastRun())
	}
	if s.cfg.Examples == nil {
		return out, nil
	}
	n, err := s.cfg.Examples.CountExamples(ctx)
	if err != nil {
		return out, err
	}
	out.ExamplesNow = n
	c, err := s.cfg.Examples.Calibration(ctx)
	switch {
	case errors.Is(err, relais.ErrNotFound):
	case err != nil:
		return out, err
	default:
		out.Calibration = &calibrationJSON{Threshold: c.Threshold, MaxWrongRate: c.MaxWrongRate, Samples: c.Samples,
			Examples: c.Examples, EstimatedResolution: c.EstimatedResolution, EstimatedWrongRate: c.EstimatedWrongRate,
			Method: c.Method, EmbeddingModel: c.EmbeddingModel, CreatedAt: c.CreatedAt}
	}
	return out, nil
}

// dashboard serves GET /v1/knowledge/dashboard?days=: what became of each
// day's customer messages, and the calibration behind the answers.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	days, since, err := s.insightWindow(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	counts, err := s.cfg.Insights.DecisionCounts(r.Context(), since)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	cal, err := s.calibrationState(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	daily := conversation.DailyOutcomes(counts, since, days)
	out := make([]dayJSON, len(daily))
	var total conversation.DayOutcomes
	for i, d := range daily {
		out[i] = toDayJSON(d)
		out[i].Day = d.Day.Format(time.DateOnly)
		total.Add(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"days": days, "since": since, "daily": out, "totals": toDayJSON(total), "calibration": cal,
	})
}

// getCalibration serves GET /v1/knowledge/calibration: the calibration
// and the run started from the API, which the console polls while it runs.
func (s *Server) getCalibration(w http.ResponseWriter, r *http.Request) {
	cal, err := s.calibrationState(r.Context())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, cal)
}

// recalibrate serves POST /v1/knowledge/calibration: it starts a
// calibration in the background and answers 202 with its run at once.
func (s *Server) recalibrate(w http.ResponseWriter, r *http.Request) {
	run, err := s.cfg.Recalibrator.Recalibrate()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"run": toCalibrationRunJSON(run)})
}

type articleStatsJSON struct {
	ArticleID  string         `json:"article_id"`
	Days       int            `json:"days"`
	Since      time.Time      `json:"since"`
	Answered   int            `json:"answered"`
	Clarified  int            `json:"clarified"`
	HandedOff  map[string]int `json:"handed_off"`
	Helpful    int            `json:"helpful"`
	NotHelpful int            `json:"not_helpful"`
}

// articleStats serves GET /v1/knowledge/articles/{id}/stats?days=: what
// became of the questions the article was the best candidate for.
func (s *Server) articleStats(w http.ResponseWriter, r *http.Request) {
	days, since, err := s.insightWindow(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	a, err := s.lookupArticle(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	o, err := s.cfg.Insights.ArticleOutcomes(r.Context(), a.ExternalID, since)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	handedOff := o.HandedOff
	if handedOff == nil {
		handedOff = map[string]int{}
	}
	writeJSON(w, http.StatusOK, articleStatsJSON{ArticleID: a.ExternalID, Days: days, Since: since, Answered: o.Answered,
		Clarified: o.Clarified, HandedOff: handedOff, Helpful: o.Helpful, NotHelpful: o.NotHelpful})
}
