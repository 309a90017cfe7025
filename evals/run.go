package evals

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/assistant/intent"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/ingest"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/language"
)

// Store is what an eval run needs: the stores the assistant runs on.
type Store interface {
	knowledge.Store
	knowledge.ExampleStore
	conversation.Store
}

// Dataset is one eval set.
type Dataset struct {
	Name      string
	KBName    string // file name of the knowledge base, for its format
	KB        []byte
	Questions []Question
	// Examples is labelled history loaded before the run (--examples).
	Examples []Question
}

// LoadDataset reads a knowledge base file and a questions file (and,
// optionally, an examples file in the questions format).
func LoadDataset(name, kbPath, questionsPath, examplesPath string) (Dataset, error) {
	ds := Dataset{Name: name, KBName: kbPath}
	kb, err := os.ReadFile(kbPath)
	if err != nil {
		return ds, fmt.Errorf("read knowledge base: %w", err)
	}
	ds.KB = kb
	if ds.Questions, err = readQuestions(questionsPath); err != nil {
		return ds, err
	}
	if examplesPath != "" {
		if ds.Examples, err = readQuestions(examplesPath); err != nil {
			return ds, err
		}
	}
	return ds, nil
}

func readQuestions(path string) ([]Question, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read questions: %w", err)
	}
	defer f.Close()
	return ParseQuestions(path, f)
}

// ParseQuestions reads questions JSONL ({"id","question","gold_article_ids",
// "expected"}); a malformed line is an error naming it.
func ParseQuestions(name string, r io.Reader) ([]Question, error) {
	var out []Question
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var q Question
		if err := json.Unmarshal(b, &q); err != nil {
			return nil, fmt.Errorf("%s:%d: %v: %w", name, line, err, relais.ErrInvalid)
		}
		switch {
		case strings.TrimSpace(q.Question) == "":
			return nil, fmt.Errorf("%s:%d: empty question: %w", name, line, relais.ErrInvalid)
		case q.Expected == "answer" && len(q.Gold) == 0:
			return nil, fmt.Errorf("%s:%d: expected answer but no gold_article_ids: %w", name, line, relais.ErrInvalid)
		case q.Expected != "answer" && q.Expected != "handoff":
			return nil, fmt.Errorf("%s:%d: expected must be \"answer\" or \"handoff\", got %q: %w", name, line, q.Expected, relais.ErrInvalid)
		}
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no questions: %w", name, relais.ErrInvalid)
	}
	return out, nil
}

// Runner runs eval sets through the assistant.
type Runner struct {
	// NewStore opens a fresh, isolated store for one run; close releases it.
	NewStore func(ctx context.Context) (st Store, close func(), err error)
	Embedder knowledge.Embedder
	// Generator, when set, writes answers with a model (it is judged on the
	// article it cites, like the extractive composer, unless Judge is set).
	Generator assistant.Generator
	// Judge, when set, also grades every answer the Generator wrote that
	// cites a gold article: one it finds incorrect counts as wrong. A judge
	// call that fails leaves the cited article's verdict and is counted in
	// Summary.JudgeErrors. nil (the default) judges by the cited article
	// alone, offline.
	Judge Judge
	// JudgeModel names the judge in Summary.Judge.
	JudgeModel string
	Intents    *intent.Classifier
	// Threshold pins the threshold; 0 lets each run calibrate as production
	// does from the examples it has.
	Threshold    float64
	MaxWrongRate float64
	// Folds > 1 cross-validates: each fold's questions are answered with
	// the other folds' questions loaded as examples.
	Folds int
	// Concurrency is how many questions are in flight; 2 when 0.
	Concurrency int
	Logger      *slog.Logger
	// Progress, when set, is called as questions are answered.
	Progress func(done, total int)
}

const examplesSource = "eval:examples"

// Run evaluates a dataset and returns the summary and every outcome.
func (r *Runner) Run(ctx context.Context, ds Dataset) (Summary, []Outcome, error) {
	start := time.Now()
	st, closeStore, err := r.NewStore(ctx)
	if err != nil {
		return Summary{}, nil, fmt.Errorf("eval: open store: %w", err)
	}
	defer closeStore()
	if err := r.importKnowledgeBase(ctx, st, ds); err != nil {
		return Summary{}, nil, err
	}
	folds := max(r.Folds, 1)
	byFold := splitFolds(ds.Questions, folds)
	tick := r.progressTicker(len(ds.Questions))
	var outs []Outcome
	var cals []FoldCalibration
	examplesUsed := 0
	for f := 0; f < folds; f++ {
		fo, cal, n, err := r.runFold(ctx, st, f, foldExamples(ds.Examples, byFold, f), byFold[f], tick)
		if err != nil {
			return Summary{}, nil, err
		}
		examplesUsed = max(examplesUsed, n)
		cals = append(cals, cal)
		outs = append(outs, fo...)
	}
	sum := Summarize(ds.Name, outs)
	sum.Examples = examplesUsed
	setThreshold(&sum, cals, folds)
	sum.Judge = r.judgeName()
	sum.Duration = time.Since(start).Seconds()
	return sum, outs, nil
}

// importKnowledgeBase loads the dataset's articles into the run's store.
func (r *Runner) importKnowledgeBase(ctx context.Context, st Store, ds Dataset) error {
	// One worker: articles get their ids in file order, so ties in retrieval
	// break the same way on every run and the numbers repeat exactly.
	im := &ingest.Importer{Store: st, Embedder: r.Embedder, Logger: r.logger(), Concurrency: 1}
	res, err := im.ImportData(ctx, ds.KBName, "eval:kb", bytes.NewReader(ds.KB), ingest.Options{})
	if err != nil {
		return fmt.Errorf("eval: import knowledge base: %w", err)
	}
	if res.Err != nil {
		return fmt.Errorf("eval: import knowledge base: %w", res.Err)
	}
	return nil
}

// splitFolds deals the questions into folds by their text, so a question
// lands in the same fold on every run.
func splitFolds(qs []Question, folds int) [][]Question {
	byFold := make([][]Question, folds)
	for _, q := range qs {
		f := 0
		if folds > 1 {
			f = articlemodel.FoldOf(q.Question, folds)
		}
		byFold[f] = append(byFold[f], q)
	}
	return byFold
}

// foldExamples is what fold f learns from: the dataset's own examples and,
// when cross-validating, every other fold's questions.
func foldExamples(examples []Question, byFold [][]Question, f int) []Question {
	out := append([]Question(nil), examples...)
	if len(byFold) > 1 {
		for g := range byFold {
			if g != f {
				out = append(out, byFold[g]...)
			}
		}
	}
	return out
}

// progressTicker counts answered questions across folds and reports them
// to Progress, if set.
func (r *Runner) progressTicker(total int) func() {
	var done atomic.Int64
	return func() {
		if r.Progress != nil {
			r.Progress(int(done.Add(1)), total)
		}
	}
}

// runFold loads the fold's examples, calibrates on them as production would,
// and answers the fold's questions. It returns the outcomes, the fold's
// calibration and how many examples it loaded.
func (r *Runner) runFold(ctx context.Context, st Store, f int, examples, qs []Question, tick func()) ([]Outcome, FoldCalibration, int, error) {
	n, err := r.loadExamples(ctx, st, examples)
	if err != nil {
		return nil, FoldCalibration{}, 0, err
	}
	cal, err := r.calibrate(ctx, st, f)
	if err != nil {
		return nil, FoldCalibration{}, 0, err
	}
	outs, err := r.answer(ctx, st, r.service(st), qs, f, tick)
	if err != nil {
		return nil, FoldCalibration{}, 0, err
	}
	return outs, cal, n, nil
}

// service is the assistant as production runs it, on the run's store.
func (r *Runner) service(st Store) *assistant.Service {
	a := &assistant.Assistant{
		Retriever:   &knowledge.Searcher{Store: st, Embedder: r.Embedder},
		Intents:     r.Intents,
		Generator:   r.Generator,
		Calibration: st,
		Logger:      r.logger(),
		Config:      assistant.Config{Threshold: r.Threshold, MaxWrongRate: r.maxWrongRate(), ClarifyFirst: true, AskFeedback: true},
	}
	return &assistant.Service{Conversations: st, Assistant: a, Logger: r.logger()}
}

// setThreshold reports the threshold the run used: the only fold's, or the
// mean over the folds when cross-validating.
func setThreshold(sum *Summary, cals []FoldCalibration, folds int) {
	sum.Calibrations = cals
	sum.Threshold, sum.ThresholdSource = cals[0].Threshold, cals[0].Source
	if folds > 1 {
		sum.Folds = folds
		var t float64
		for _, c := range cals {
			t += c.Threshold
		}
		sum.Threshold = t / float64(len(cals))
		sum.ThresholdSource = cals[0].Source + fmt.Sprintf(" (mean of %d folds)", folds)
	}
}

// judgeName is Summary.Judge: empty when no judge ran.
func (r *Runner) judgeName() string {
	if r.Judge == nil {
		return ""
	}
	if r.JudgeModel == "" {
		return "judge" // absent would read as "no judge ran"
	}
	return r.JudgeModel
}

// loadExamples replaces the run's examples with these.
func (r *Runner) loadExamples(ctx context.Context, st Store, qs []Question) (int, error) {
	if _, err := st.DeleteExamples(ctx, examplesSource); err != nil {
		return 0, fmt.Errorf("eval: clear examples: %w", err)
	}
	if len(qs) == 0 {
		return 0, nil
	}
	texts := make([]string, len(qs))
	for i, q := range qs {
		texts[i] = q.Question
	}
	vecs, err := knowledge.Embed(ctx, r.Embedder, texts)
	if err != nil {
		return 0, fmt.Errorf("eval: embed examples: %w", err)
	}
	examples := make([]knowledge.Example, len(qs))
	for i, q := range qs {
		label := knowledge.HandoffLabel
		if q.Answerable() {
			label = q.Gold[0]
		}
		examples[i] = knowledge.Example{Text: q.Question, ArticleID: label, Source: examplesSource,
			Language: language.Detect(q.Question), Embedding: vecs[i]}
	}
	const batch = 1000
	for s := 0; s < len(examples); s += batch {
		if _, err := st.SaveExamples(ctx, examples[s:min(s+batch, len(examples))]); err != nil {
			return 0, fmt.Errorf("eval: save examples: %w", err)
		}
	}
	return len(examples), nil
}

// calibrate does what production does after examples are imported; a pinned
// threshold skips it.
func (r *Runner) calibrate(ctx context.Context, st Store, fold int) (FoldCalibration, error) {
	fc := FoldCalibration{Fold: fold}
	if r.Threshold > 0 {
		fc.Threshold, fc.Source = r.Threshold, "pinned"
		return fc, nil
	}
	c := &articlemodel.Calibrator{
		Examples:     st,
		Searcher:     &knowledge.Searcher{Store: st, Embedder: r.Embedder},
		Articles:     st,
		MaxWrongRate: r.maxWrongRate(),
		Logger:       r.logger(),
	}
	cal, err := c.Calibrate(ctx)
	switch {
	case errors.Is(err, articlemodel.ErrTooFewExamples):
		fc.Threshold, fc.Source = assistant.DefaultThreshold, "default (too few examples)"
		return fc, nil
	case err != nil:
		return fc, fmt.Errorf("eval: calibrate fold %d: %w", fold, err)
	}
	cal.EmbeddingModel = r.Embedder.Space().Model
	if err := st.SaveCalibration(ctx, cal.Calibration); err != nil {
		return fc, fmt.Errorf("eval: store calibration: %w", err)
	}
	fc.Threshold, fc.Source, fc.Examples = cal.Threshold, "calibrated", cal.Examples
	fc.EstimatedResolution, fc.EstimatedWrongRate = cal.EstimatedResolution, cal.EstimatedWrongRate
	fc.Disagreements = cal.Disagreements
	return fc, nil
}

// answer sends each question as the first message of a new conversation,
// and has the judge, if any, grade the answers it may overturn.
func (r *Runner) answer(ctx context.Context, st Store, svc *assistant.Service, qs []Question, fold int, tick func()) ([]Outcome, error) {
	outs := make([]Outcome, len(qs))
	workers := r.Concurrency
	if workers <= 0 {
		workers = 2
	}
	var (
		wg      sync.WaitGroup
		next    atomic.Int64
		errOnce sync.Once
		runErr  error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(qs) || ctx.Err() != nil {
					return
				}
				q := qs[i]
				start := time.Now()
				out, err := svc.HandleMessage(ctx, conversation.Inbound{
					Channel: "eval", CustomerID: fmt.Sprintf("eval-%d-%s", fold, q.ID), Text: q.Question,
				})
				if err != nil {
					errOnce.Do(func() { runErr = fmt.Errorf("eval: question %s: %w", q.ID, err) })
					return
				}
				// The latency is the assistant's: the judge is not part of it.
				o := outcomeOf(q, out.Decision, time.Since(start), fold)
				if err := r.judge(ctx, st, &o, out.Decision); err != nil {
					errOnce.Do(func() { runErr = err })
					return
				}
				outs[i] = o
				tick()
			}
		}()
	}
	wg.Wait()
	if runErr != nil {
		return nil, runErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return outs, nil
}

func outcomeOf(q Question, d assistant.Decision, latency time.Duration, fold int) Outcome {
	o := Outcome{Question: q, Action: string(d.Action), Reason: d.Reason, Intent: d.Intent,
		Confidence: d.Confidence, Latency: latency, Fold: fold}
	if d.Action == assistant.Answer && len(d.Sources) > 0 {
		o.Cited = d.Sources[0].ArticleID
	}
	if d.Action == assistant.Reply && d.Intent == assistant.IntentQuestion {
		o.Action, o.Reason = "handoff", "clarify"
	}
	if len(d.Trace.Candidates) > 0 {
		o.Candidate = d.Trace.Candidates[0].ArticleID
		o.Gateable = d.Intent == assistant.IntentQuestion && d.Reason != assistant.ReasonProviderUnavailable
		for i, c := range d.Trace.Candidates {
			if i == 3 {
				break
			}
			o.Retrieved = append(o.Retrieved, Retrieved{ArticleID: c.ArticleID, Score: c.Score})
		}
	}
	return o
}

func (r *Runner) maxWrongRate() float64 {
	if r.MaxWrongRate > 0 {
		return r.MaxWrongRate
	}
	return articlemodel.DefaultMaxWrongRate
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Set locates one eval set on disk.
type Set struct {
	Name, KB, Questions string
}

// FindSets lists the eval sets of a folder: every subfolder holding both a
// kb.jsonl and a questions.jsonl, in name order.
func FindSets(dir string) ([]Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("find eval sets: %w", err)
	}
	var sets []Set
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		kb := filepath.Join(dir, e.Name(), "kb.jsonl")
		q := filepath.Join(dir, e.Name(), "questions.jsonl")
		if _, err := os.Stat(kb); err != nil {
			continue
		}
		if _, err := os.Stat(q); err != nil {
			continue
		}
		sets = append(sets, Set{Name: e.Name(), KB: kb, Questions: q})
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("find eval sets: no folder in %s has both kb.jsonl and questions.jsonl: %w", dir, relais.ErrInvalid)
	}
	return sets, nil
}
