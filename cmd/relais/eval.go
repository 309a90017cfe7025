package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/relais-ai/relais/assistant/intent"
	"github.com/relais-ai/relais/evals"
	"github.com/relais-ai/relais/postgres"
	"github.com/relais-ai/relais/provider/openai"
	"github.com/relais-ai/relais/sqlite"
)

func runEval(ctx context.Context, e env, args []string) error {
	cfg, o, err := parseEvalFlags(e, args)
	if err != nil {
		return err
	}
	if _, err := cfg.validate(); err != nil {
		return err
	}
	log := cfg.newLogger(e.stderr)
	newRunner, err := evalRunners(ctx, cfg, o, log)
	if err != nil {
		return err
	}
	if o.suite != "" {
		return runSuite(ctx, e, o.suite, o.maxQuestions, newRunner, o.jsonOut, o.baseline, o.writeBaseline)
	}
	return runDataset(ctx, e, o, newRunner)
}

// evalFlags are eval's own flags, beside those of the config.
type evalFlags struct {
	kb, questions, examples string
	folds                   int
	jsonOut, htmlOut, name  string
	suite                   string
	baseline, writeBaseline string
	maxQuestions            int
	judge                   bool
}

// parseEvalFlags reads eval's config from the environment and its flags,
// and refuses flags that do not go together.
func parseEvalFlags(e env, args []string) (Config, evalFlags, error) {
	var o evalFlags
	cfg, err := loadConfig(e)
	if err != nil {
		return Config{}, o, err
	}
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "run on PostgreSQL, in a temporary schema (default: a temporary embedded store)")
	fs.StringVar(&cfg.LogLevel, "log-level", "warn", "log level: debug, info, warn or error")
	cfg.providerFlags(fs)
	fs.StringVar(&o.kb, "kb", "", "knowledge base file (kb.jsonl)")
	fs.StringVar(&o.questions, "questions", "", "labelled questions (questions.jsonl)")
	fs.StringVar(&o.examples, "examples", "", "labelled history to load first, same format as --questions")
	fs.IntVar(&o.folds, "folds", 0, "cross-validate over the questions in K folds (each fold's others loaded as examples)")
	fs.StringVar(&o.jsonOut, "json", "", "write the summary and per-question outcomes as JSON to this file")
	fs.StringVar(&o.htmlOut, "html", "", "write a self-contained HTML report to this file")
	fs.StringVar(&o.name, "name", "", "the dataset's name in reports (default: the questions file's folder)")
	fs.Float64Var(&cfg.Threshold, "threshold", 0, "pin the confidence threshold instead of calibrating")
	fs.StringVar(&o.suite, "suite", "", "run every set in this folder (each a subfolder with kb.jsonl and questions.jsonl) and print one table")
	fs.StringVar(&o.baseline, "baseline", "", "with --suite: fail when a set falls short of this baseline file beyond its tolerance")
	fs.StringVar(&o.writeBaseline, "write-baseline", "", "with --suite: record this run as the baseline file")
	fs.IntVar(&o.maxQuestions, "max-questions", 0, "with --suite: run only the sets of at most this many questions (a quicker gate; 0: every set)")
	fs.BoolVar(&o.judge, "judge", false, "also have the chat model grade every answer it wrote that cites a gold article against that article; "+
		"one it finds incorrect counts as wrong (needs RELAIS_LLM_BASE_URL and RELAIS_CHAT_MODEL; off: the cited article alone decides)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais eval --kb KB.jsonl --questions Q.jsonl [--examples H.jsonl | --folds K] [--json OUT] [--html OUT] [--threshold X] [--judge] [--database-url URL]\n\n"+
			"Runs every question through the assistant on a fresh, isolated store and reports resolution, wrong answers and escalations.\n"+
			"An answer is correct when it cites a gold article; with --judge, an answer written by the chat model must also be graded correct by it.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args); err != nil {
		return Config{}, o, err
	}
	return cfg, o, o.check(cfg, fs)
}

// check refuses flags that do not go together; with nothing to evaluate
// it prints the usage too.
func (o evalFlags) check(cfg Config, fs *flag.FlagSet) error {
	switch {
	case o.suite == "" && (o.kb == "" || o.questions == ""):
		fs.Usage()
		return usagef("eval: --kb and --questions are required (or --suite DIR)")
	case o.suite != "" && (o.kb != "" || o.questions != "" || o.examples != "" || o.htmlOut != "" || o.name != ""):
		return usagef("eval: --suite runs the sets of a folder; it takes no --kb, --questions, --examples, --html or --name")
	case o.suite == "" && (o.baseline != "" || o.writeBaseline != "" || o.maxQuestions != 0):
		return usagef("eval: --baseline, --write-baseline and --max-questions go with --suite")
	case o.maxQuestions < 0 || (o.maxQuestions > 0 && o.writeBaseline != ""):
		return usagef("eval: --max-questions must be positive, and a baseline is recorded from every set")
	case o.examples != "" && o.folds > 1:
		return usagef("eval: --examples and --folds are alternatives: folds take their examples from the other folds")
	case o.folds < 0 || o.folds == 1 || o.folds > 50:
		return usagef("eval: --folds must be from 2 to 50")
	case fs.NArg() > 0:
		return usagef("eval: unexpected argument %q", fs.Arg(0))
	case o.judge && (cfg.LLMBaseURL == "" || cfg.ChatModel == ""):
		return usagef("eval: --judge needs a chat model to judge with: set RELAIS_LLM_BASE_URL and RELAIS_CHAT_MODEL (or --llm-base-url and --chat-model)")
	case o.judge && o.writeBaseline != "":
		return usagef("eval: --write-baseline records the offline verdict (the cited article); run it without --judge")
	}
	return nil
}

// evalRunners opens the providers, the intent classifier and, with
// --judge, the judge once, and returns what builds a runner on them for
// each dataset.
func evalRunners(ctx context.Context, cfg Config, o evalFlags, log *slog.Logger) (func(*progress) *evals.Runner, error) {
	p, err := newProviders(ctx, cfg, log, nil)
	if err != nil {
		return nil, err
	}
	intents, err := intent.New(intent.DefaultExamples())
	if err != nil {
		return nil, err
	}
	var j evals.Judge
	if o.judge {
		if j, err = newJudge(cfg, log); err != nil {
			return nil, err
		}
	}
	return func(bar *progress) *evals.Runner {
		r := newEvalRunner(cfg, p, intents, o.folds, log, bar)
		if j != nil {
			r.Judge, r.JudgeModel = j, cfg.ChatModel
		}
		return r
	}, nil
}

// runDataset evaluates the dataset of --kb, --questions and --examples,
// prints its summary and writes the --json and --html reports.
func runDataset(ctx context.Context, e env, o evalFlags, newRunner func(*progress) *evals.Runner) error {
	name := o.name
	if name == "" {
		name = filepath.Base(filepath.Dir(o.questions))
	}
	ds, err := evals.LoadDataset(name, o.kb, o.questions, o.examples)
	if err != nil {
		return err
	}
	bar := newProgress(e.stderr, "eval "+name)
	sum, outs, err := newRunner(bar).Run(ctx, ds)
	bar.finish()
	if err != nil {
		return err
	}
	printEvalSummary(e, []evals.Summary{sum})
	if o.jsonOut != "" {
		if err := writeJSONFile(o.jsonOut, evals.Report{Summary: sum, Outcomes: outs}); err != nil {
			return err
		}
	}
	if o.htmlOut != "" {
		return createFile(o.htmlOut, func(w io.Writer) error { return evals.WriteHTML(w, sum, outs) })
	}
	return nil
}

// newEvalRunner builds a runner whose every run gets a fresh, isolated
// store: a temporary schema on PostgreSQL when a URL is configured, else a
// temporary embedded store.
func newEvalRunner(cfg Config, p providers, intents *intent.Classifier, folds int, log *slog.Logger, bar *progress) *evals.Runner {
	return &evals.Runner{
		NewStore: func(ctx context.Context) (evals.Store, func(), error) {
			if cfg.DatabaseURL != "" {
				db, drop, err := postgres.OpenIsolated(ctx, cfg.DatabaseURL, "relais_eval", log)
				return db, drop, err
			}
			dir, err := os.MkdirTemp("", "relais-eval-")
			if err != nil {
				return nil, nil, err
			}
			db, err := sqlite.Open(ctx, dir, log)
			if err != nil {
				os.RemoveAll(dir)
				return nil, nil, err
			}
			return db, func() { db.Close(); os.RemoveAll(dir) }, nil
		},
		Embedder:     p.embedder,
		Generator:    p.generator,
		Intents:      intents,
		Threshold:    cfg.Threshold,
		MaxWrongRate: cfg.MaxWrongRate,
		Folds:        folds,
		Logger:       log,
		Progress:     func(done, total int) { bar.update(done, total, "questions") },
	}
}

// newJudge builds the --judge judge on the configured chat model. It gets a
// client of its own, so that its failures count against its own circuit
// breaker: a judge in trouble must not push the assistant it measures onto
// its extractive fallback.
func newJudge(cfg Config, log *slog.Logger) (evals.Judge, error) {
	oc := cfg.openAIConfig()
	oc.ChatModel, oc.Logger = cfg.ChatModel, log
	c, err := openai.New(oc)
	if err != nil {
		return nil, fmt.Errorf("configure the judge model: %w", err)
	}
	return c, nil
}

// runSuite evaluates every set of a folder (those of at most maxQuestions
// questions when it is positive) and compares with a baseline.
func runSuite(ctx context.Context, e env, dir string, maxQuestions int, newRunner func(*progress) *evals.Runner, jsonDir, baselinePath, writePath string) error {
	sets, err := evals.FindSets(dir)
	if err != nil {
		return err
	}
	var sums []evals.Summary
	var skipped []string
	for _, set := range sets {
		ds, err := evals.LoadDataset(set.Name, set.KB, set.Questions, "")
		if err != nil {
			return err
		}
		if maxQuestions > 0 && len(ds.Questions) > maxQuestions {
			fmt.Fprintf(e.stdout, "note: %s skipped: %d questions, over --max-questions %d\n", set.Name, len(ds.Questions), maxQuestions)
			skipped = append(skipped, set.Name)
			continue
		}
		bar := newProgress(e.stderr, "eval "+set.Name)
		sum, outs, err := newRunner(bar).Run(ctx, ds)
		bar.finish()
		if err != nil {
			return fmt.Errorf("eval %s: %w", set.Name, err)
		}
		sums = append(sums, sum)
		if jsonDir != "" {
			if err := os.MkdirAll(jsonDir, 0o755); err != nil {
				return fmt.Errorf("eval: %w", err)
			}
			if err := writeJSONFile(filepath.Join(jsonDir, set.Name+".json"), evals.Report{Summary: sum, Outcomes: outs}); err != nil {
				return err
			}
		}
	}
	printEvalSummary(e, sums)
	if writePath != "" {
		if err := createFile(writePath, func(w io.Writer) error { return evals.WriteBaseline(w, evals.NewBaseline(sums)) }); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "baseline written to %s\n", writePath)
	}
	if baselinePath == "" {
		return nil
	}
	f, err := os.Open(baselinePath)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	base, err := evals.ReadBaseline(f)
	f.Close()
	if err != nil {
		return err
	}
	regressions, notes := base.Without(skipped...).Regressions(sums, true)
	for _, n := range notes {
		fmt.Fprintf(e.stdout, "note: %s\n", n)
	}
	if len(regressions) > 0 {
		for _, r := range regressions {
			fmt.Fprintf(e.stderr, "regression: %s\n", r)
		}
		return fmt.Errorf("eval: %d regressions against %s", len(regressions), baselinePath)
	}
	fmt.Fprintf(e.stdout, "no regression against %s\n", baselinePath)
	return nil
}

func writeJSONFile(path string, v any) error {
	return createFile(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // keys such as "wrong<=2%" stay readable
		return enc.Encode(v)
	})
}

// createFile creates path and fills it with write; a failed close is a
// failed write.
func createFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	werr := write(f)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("eval: write %s: %w", path, werr)
	}
	return nil
}

// printEvalSummary prints one row per dataset.
func printEvalSummary(e env, sums []evals.Summary) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SET\tQUESTIONS\tRESOLUTION\tWRONG\tESCALATION\tTHRESHOLD\tBEST@2%\tBEST@5%\tP50 MS\tP95 MS")
	for _, s := range sums {
		best := func(k string) string {
			if p, ok := s.Best[k]; ok {
				return fmt.Sprintf("%.1f%% (t=%.3f)", 100*p.ResolutionRate, p.Threshold)
			}
			return "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%.1f%%\t%.1f%%\t%.3f\t%s\t%s\t%.1f\t%.1f\n", s.Dataset, s.Questions,
			100*s.ResolutionRate, 100*s.WrongAnswerRate, 100*s.EscalationRecall, s.Threshold,
			best("wrong<=2%"), best("wrong<=5%"), s.Latency.P50, s.Latency.P95)
	}
	tw.Flush()
	if len(sums) == 1 {
		s := sums[0]
		var reasons []string
		for r, n := range s.ByReason {
			reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
		}
		sort.Strings(reasons)
		fmt.Fprintf(e.stdout, "\nanswered %d (correct %d, wrong %d), handed off %d: %s\nthreshold: %s\ntop-1: the best candidate was a gold article for %.1f%% of the answerable questions\n",
			s.Answered, s.Correct, s.Wrong, s.HandedOff, strings.Join(reasons, ", "), s.ThresholdSource, 100*s.Top1Rate)
	}
	for _, s := range sums {
		if s.Judge == "" {
			continue
		}
		label := "judge"
		if len(sums) > 1 {
			label += " (" + s.Dataset + ")"
		}
		fmt.Fprintf(e.stdout, "%s: %s, %d answers judged, %d judged incorrect, %d judge errors\n",
			label, s.Judge, s.Judged, s.JudgedIncorrect, s.JudgeErrors)
	}
}
