package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/channel"
	"github.com/relais-ai/relais/channel/webchat"
	"github.com/relais-ai/relais/channel/whatsapp"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/ingest"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/metrics"
	"github.com/relais-ai/relais/server"
)

func runMigrate(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	cfg.storageFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais migrate [--data-dir DIR | --database-url URL]\n\nCreates or upgrades the schema. serve, ingest and ask also migrate on start.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	_, closeStore, err := openStoreOnly(ctx, e, cfg)
	if err != nil {
		return err
	}
	closeStore()
	fmt.Fprintln(e.stdout, "schema is up to date")
	return nil
}

func runIngest(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	cfg.storageFlags(fs)
	cfg.providerFlags(fs)
	prune := fs.Bool("prune", false, "delete articles of these files that are no longer in them")
	examples := fs.Bool("examples", false, "the files are labelled customer questions (eval questions .jsonl, or .csv question,article_id), not articles")
	replace := fs.Bool("replace", false, "with --examples: replace the examples earlier imported from the same files")
	reembed := fs.Bool("reembed", false, "re-embed the whole knowledge base with the configured embedding model (after a model change)")
	maxBytes := fs.Int64("max-file-bytes", ingest.DefaultMaxFileBytes, "refuse files larger than this")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais ingest [flags] PATH...\n       relais ingest --examples FILE...\n\nImports files and folders (.csv .tsv .jsonl .json .md .html .txt). Unchanged articles are skipped.\nWith --examples, imports labelled customer questions and recalibrates the assistant.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	if fs.NArg() == 0 && !*reembed {
		fs.Usage()
		return usagef("ingest: no file or folder given")
	}
	a, err := openApp(ctx, e, cfg, appOptions{})
	if err != nil {
		return err
	}
	defer a.close()
	st, emb, log := a.store, a.providers.embedder, a.log
	bar := newProgress(e.stderr, "ingest")
	im := &ingest.Importer{
		Store: st, Embedder: emb, Logger: log, MaxFileBytes: *maxBytes,
		Progress: func(p ingest.Progress) { bar.update(p.Done, p.Total, p.File) },
	}
	if *reembed {
		n, err := im.Reembed(ctx)
		bar.finish()
		if err != nil {
			return fmt.Errorf("%w (run 'relais ingest --reembed' again to carry on)", err)
		}
		fmt.Fprintf(e.stdout, "re-embedded %d chunks and examples with %s (%d dimensions)\n", n, emb.Space().Model, emb.Space().Dimensions)
		if fs.NArg() == 0 {
			return nil
		}
	} else if err := checkEmbedderSpace(ctx, st, emb); err != nil {
		return err
	}
	if *examples {
		return ingestExamples(ctx, e, cfg, st, im, bar, fs.Args(), *replace)
	}
	sum, err := im.ImportPaths(ctx, fs.Args(), ingest.Options{Prune: *prune})
	bar.finish()
	printSummary(e, sum)
	if err != nil {
		return err
	}
	if sum.FailedFiles > 0 || sum.Problems > 0 {
		return fmt.Errorf("ingest: %d of %d files failed, %d problems in rows (see above)", sum.FailedFiles, len(sum.Files), sum.Problems)
	}
	return nil
}

// ingestExamples imports files of labelled questions, then recalibrates.
// bar is the one im reports its progress on.
func ingestExamples(ctx context.Context, e env, cfg Config, st store, im *ingest.Importer, bar *progress, paths []string, replace bool) error {
	failed := 0
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(e.stderr, "error: %v\n", err)
			failed++
			continue
		}
		res, err := im.ImportExamples(ctx, st, path, "examples:"+sourceName(path), f, replace)
		f.Close()
		bar.finish()
		if err != nil {
			return err
		}
		if res.Err != nil {
			fmt.Fprintf(e.stderr, "error: %v\n", res.Err)
			failed++
			continue
		}
		for _, p := range res.Problems {
			fmt.Fprintf(e.stderr, "problem: %v\n", p)
		}
		fmt.Fprintf(e.stdout, "%s: %d examples read, %d new (%d for a person), %d replaced, %d problems\n",
			path, res.Read, res.Added, res.Handoff, res.Removed, len(res.Problems))
	}
	calBar := newProgress(e.stderr, "calibrate")
	cal, err := calibrate(ctx, cfg, st, im.Embedder, im.Logger, func(done, total int) { calBar.update(done, total, "examples") })
	calBar.finish()
	switch {
	case errors.Is(err, articlemodel.ErrTooFewExamples):
		fmt.Fprintf(e.stdout, "not calibrated: fewer than %d examples; the assistant uses the default threshold %.2f\n", articlemodel.MinCalibrationExamples, assistant.DefaultThreshold)
	case err != nil:
		return fmt.Errorf("calibrate: %w", err)
	default:
		fmt.Fprintf(e.stdout, "calibrated on %d examples: threshold %.3f, estimated resolution %.1f%% with %.1f%% wrong answers (target %.1f%%)\n",
			cal.Samples, cal.Threshold, 100*cal.EstimatedResolution, 100*cal.EstimatedWrongRate, 100*cal.MaxWrongRate)
		printDisagreements(e.stdout, cal.Disagreements)
	}
	if failed > 0 {
		return fmt.Errorf("ingest: %d of %d example files failed", failed, len(paths))
	}
	return nil
}

// shownDisagreements is how many disagreements an examples import prints.
const shownDisagreements = 5

// printDisagreements lists the examples the calibration answered against
// their label, the most confident first: they hold the threshold up, and a
// knowledge manager can fix them.
func printDisagreements(w io.Writer, ds []articlemodel.Disagreement) {
	if len(ds) == 0 {
		return
	}
	fmt.Fprintln(w, "examples answered against their label, the most confident first (often a wrong label, articles customers cannot tell apart, or a message needing a person that reads like an article's; fixing them lets the assistant answer more):")
	for _, d := range ds[:min(len(ds), shownDisagreements)] {
		label := d.Label
		if label == knowledge.HandoffLabel {
			label = "handoff"
		}
		fmt.Fprintf(w, "  %.3f  %q: labelled %s, answered with %s\n", d.Confidence, clip(d.Text, 80), label, d.Answer)
	}
}

// sourceName identifies an examples file by its absolute path, so that a
// re-import with --replace finds the earlier one.
func sourceName(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func printSummary(e env, sum ingest.Summary) {
	for _, f := range sum.Files {
		if f.Err != nil {
			fmt.Fprintf(e.stderr, "error: %v\n", f.Err)
		}
		for _, p := range f.Problems {
			fmt.Fprintf(e.stderr, "problem: %v\n", p)
		}
	}
	fmt.Fprintf(e.stdout, "imported %d, updated %d, unchanged %d, pruned %d articles (%d chunks embedded); %d files, %d failed, %d problems\n",
		sum.Imported, sum.Updated, sum.Unchanged, sum.Pruned, sum.Chunks, len(sum.Files), sum.FailedFiles, sum.Problems)
}

func runAsk(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("ask", flag.ContinueOnError)
	cfg.storageFlags(fs)
	cfg.providerFlags(fs)
	cfg.assistantFlags(fs)
	asJSON := fs.Bool("json", false, "print the decision as JSON, with its trace")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais ask [flags] \"question\"\n\nShows what the assistant would decide for a customer's message: the answer and its source, or the handoff and its reason, with the articles it considered.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	question := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if question == "" {
		fs.Usage()
		return usagef("ask: no question given")
	}
	ap, err := openApp(ctx, e, cfg, appOptions{})
	if err != nil {
		return err
	}
	defer ap.close()
	if err := checkEmbedderSpace(ctx, ap.store, ap.providers.embedder); err != nil {
		return err
	}
	a, err := newAssistant(cfg, ap.store, ap.providers, ap.log)
	if err != nil {
		return err
	}
	d := a.Decide(ctx, assistant.Input{Text: question})
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	printDecision(e, d)
	return nil
}

func printDecision(e env, d assistant.Decision) {
	w := e.stdout
	switch d.Action {
	case assistant.Handoff:
		fmt.Fprintf(w, "handoff (%s): %s\n", d.Reason, d.Text)
	default:
		fmt.Fprintf(w, "%s: %s\n", d.Action, clip(d.Text, 600))
	}
	if d.Action == assistant.Answer && len(d.Sources) > 0 {
		fmt.Fprintf(w, "source: %s (%s)\n", d.Sources[0].ArticleID, d.Sources[0].Title)
	}
	fmt.Fprintf(w, "intent %s, confidence %.3f, threshold %.3f (%s)\n", d.Intent, d.Confidence, d.Trace.Threshold, d.Trace.Calibration)
	if len(d.Trace.Candidates) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tARTICLE\tTITLE\tSCORE\tARTICLE SIM\tTEXT RANK\tEXAMPLE SIM\tVOTE")
	for i, c := range d.Trace.Candidates {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\t%.3f\t%d\t%.3f\t%.2f\n", i+1, c.ArticleID, clip(c.Title, 40),
			c.Score, c.ArticleSim, c.TextRank, c.ExampleSim, c.ExampleVote)
	}
	tw.Flush()
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func runServe(ctx context.Context, e env, args []string) error {
	cfg, err := parseServeFlags(e, args)
	if err != nil {
		return err
	}
	m := server.NewMetrics()
	ap, err := openApp(ctx, e, cfg, appOptions{
		onProviderError: func(endpoint string, err error) {
			m.ProviderErrors.Inc(endpoint, providerErrorKind(err))
		},
		startDegraded: true,
	})
	if err != nil {
		return err
	}
	defer ap.close()
	importer := &ingest.Importer{Store: ap.store, Embedder: ap.providers.embedder, Logger: ap.log, MaxFileBytes: cfg.MaxUploadBytes}
	if err := checkServeEmbedderSpace(ctx, cfg, ap, importer); err != nil {
		return err
	}
	watchProviders(m, ap.providers)
	a, err := newAssistant(cfg, ap.store, ap.providers, ap.log)
	if err != nil {
		return err
	}
	if cfg.demo {
		if err := startDemo(ctx, e, &cfg, ap.store, importer, ap.log); err != nil {
			return err
		}
	}
	if cfg.AdminToken == "" {
		ap.log.Warn("RELAIS_ADMIN_TOKEN is not set: only tokens made with 'relais token create' are accepted")
	}
	messages := newMessageService(ap, a, m)
	wa, err := newWhatsAppChannel(cfg, ap, messages)
	if err != nil {
		return err
	}
	if wa != nil {
		// The answers being given in the background stop before the store
		// closes (deferred above); the resumer takes them over next time.
		defer wa.webhook.Close()
	}
	chat, err := startWebChat(ctx, cfg, ap, messages)
	if err != nil {
		return err
	}
	s := serving{cfg: cfg, app: ap, metrics: m, importer: importer, messages: messages,
		recal: newServeRecalibrator(cfg, ap), whatsApp: wa, webChat: chat}
	srv := s.handler()
	listeners, metricsAddr, err := listenServe(cfg, srv, m)
	if err != nil {
		return err
	}
	printURLs(e.stderr, serviceURLs(listeners[0].ln.Addr(), metricsAddr, chat != nil, wa != nil))
	// The background services stop after the last request has finished,
	// and the store closes (deferred above) after them: they never run on a
	// closed store.
	defer startServices(ctx, ap.log, s.backgroundServices()...)()
	return serveUntilDone(ctx, ap.log, listeners...)
}

// parseServeFlags reads serve's config from the environment and its flags.
func parseServeFlags(e env, args []string) (Config, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return Config{}, err
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (RELAIS_ADDR)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", cfg.MetricsAddr, "serve /metrics on this address instead of --addr, e.g. 127.0.0.1:9090 (RELAIS_METRICS_ADDR)")
	fs.DurationVar(&cfg.ClaimTTL, "claim-ttl", cfg.ClaimTTL, "how long an agent's claim on a handoff lasts without an action on it (RELAIS_CLAIM_TTL)")
	fs.StringVar(&cfg.BusinessHours, "business-hours", cfg.BusinessHours, `the team's hours, e.g. "Europe/Paris;mon-fri 09:00-18:00"; always open when empty (RELAIS_BUSINESS_HOURS)`)
	fs.StringVar(&cfg.WhatsApp.DisplayNumber, "whatsapp-display-number", cfg.WhatsApp.DisplayNumber,
		"the WhatsApp business number customers write to, e.g. \"+33 6 12 34 56 78\", for /v1/whatsapp/link and qr.png; as the webhook reports it when empty (RELAIS_WHATSAPP_DISPLAY_NUMBER)")
	cfg.assistantFlags(fs)
	fs.BoolVar(&cfg.demo, "demo", false, "load the bundled sample knowledge base and turn the web chat on, so you can try Relais at once")
	fs.BoolVar(&cfg.WebChat, "webchat", cfg.WebChat, "serve the web chat page /chat and its widget /chat/widget.js (RELAIS_WEBCHAT)")
	cfg.storageFlags(fs)
	cfg.providerFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais serve [flags]\n\nRuns the HTTP server until SIGINT or SIGTERM.")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), `
The WhatsApp channel is set by environment only, its secrets never being flags:
  RELAIS_WHATSAPP_VERIFY_TOKEN, RELAIS_WHATSAPP_APP_SECRET, RELAIS_WHATSAPP_ACCESS_TOKEN,
  RELAIS_WHATSAPP_PHONE_NUMBER_ID (all four, or none: the channel is off),
  RELAIS_WHATSAPP_API_BASE (default `+whatsapp.DefaultAPIBase+`),
  RELAIS_WHATSAPP_DISPLAY_NUMBER (or --whatsapp-display-number above).`)
	}
	if err := parseFlags(fs, e, args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	return cfg, nil
}

// checkServeEmbedderSpace refuses a knowledge base embedded by another
// model than the configured one, except the demo's: there the data
// directory was embedded by an earlier version of the offline embedder,
// re-embedding it is local and takes seconds, and a newcomer trying a new
// version should not meet an error.
func checkServeEmbedderSpace(ctx context.Context, cfg Config, ap *app, importer *ingest.Importer) error {
	st, emb := ap.store, ap.providers.embedder
	err := checkEmbedderSpace(ctx, st, emb)
	if err == nil {
		return nil
	}
	if !cfg.demo || !errors.Is(err, relais.ErrConflict) || !offlineUpgrade(ctx, st, emb) {
		return err
	}
	ap.log.Info("demo: the data directory was embedded by an earlier offline embedder; re-embedding it", "model", emb.Space().Model)
	if _, err := importer.Reembed(ctx); err != nil {
		return fmt.Errorf("demo: re-embed the data directory: %w", err)
	}
	return nil
}

// watchProviders reports the state of the model server's endpoints, when
// there is one.
func watchProviders(m *server.Metrics, p providers) {
	if p.client == nil {
		return
	}
	m.Registry.NewGaugeFunc("relais_provider_breaker_state", "Circuit breaker state per provider endpoint: 0 closed, 1 half-open, 2 open.",
		func() []metrics.Sample { return breakerSamples(p.client.BreakerStates()) }, "endpoint")
	m.Registry.NewGaugeFunc("relais_provider_degraded", "1 while a provider endpoint in use works degraded (not answered since the start, or its breaker not closed), else 0.",
		func() []metrics.Sample { return degradedSamples(p.endpoints, p.degraded()) }, "endpoint")
}

// startDemo loads the demo's knowledge base and, when no admin token is
// configured, makes one for this run and prints it, so that the newcomer
// can sign in.
func startDemo(ctx context.Context, e env, cfg *Config, st store, importer *ingest.Importer, log *slog.Logger) error {
	if err := loadDemo(ctx, *cfg, st, importer, log); err != nil {
		return err
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken, _ = auth.NewSecret()
		fmt.Fprintf(e.stderr, "demo: no RELAIS_ADMIN_TOKEN set; this run's admin token is %s\n", cfg.AdminToken)
	}
	return nil
}

// newMessageService is the assistant in front of the customers, handing
// off to the team by the config's handoff rules.
func newMessageService(ap *app, a *assistant.Assistant, m *server.Metrics) *assistant.Service {
	st, log := ap.store, ap.log
	return &assistant.Service{
		Conversations: st, Assistant: a, Observer: m, Logger: log,
		Escalator: &handoff.Escalator{Store: st, Messages: st, Articles: st, Summary: ap.providers.summarizer, Logger: log,
			Hours: ap.handoff.hours, Routing: ap.handoff.routing, SLA: ap.handoff.sla, Presence: st},
	}
}

// whatsAppChannel is the WhatsApp channel's part in serve.
type whatsAppChannel struct {
	webhook *whatsapp.Webhook // answers /webhooks/whatsapp
	entry   http.Handler      // answers /v1/whatsapp/link and its QR code
	// handler decides about pending messages in the background, in front
	// of the assistant (media, opt-outs).
	handler *whatsapp.Handler
}

// newWhatsAppChannel is the WhatsApp channel, or nil when it is not
// configured.
func newWhatsAppChannel(cfg Config, ap *app, messages *assistant.Service) (*whatsAppChannel, error) {
	if !cfg.WhatsApp.enabled() {
		return nil, nil
	}
	number, err := whatsapp.NewBusinessNumber(cfg.WhatsApp.DisplayNumber)
	if err != nil {
		return nil, fmt.Errorf("WhatsApp display number: %w", err) // validated with the config already
	}
	st, log := ap.store, ap.log
	handler := &whatsapp.Handler{Store: st, Assistant: messages, Escalator: messages.Escalator,
		Media:    &whatsapp.MediaClient{APIBase: cfg.WhatsApp.APIBase, AccessToken: cfg.WhatsApp.AccessToken, Client: &http.Client{Timeout: 15 * time.Second}},
		MaxBytes: cfg.WhatsApp.MaxMediaBytes, Unsupported: cfg.WhatsApp.Unsupported, Logger: log}
	return &whatsAppChannel{
		webhook: &whatsapp.Webhook{VerifyToken: cfg.WhatsApp.VerifyToken, AppSecret: cfg.WhatsApp.AppSecret, Concurrency: cfg.whatsAppWorkers(),
			Receiver: st, Resumer: handler, Deliveries: st, Number: number, Logger: log},
		entry:   &whatsapp.Entry{Number: number},
		handler: handler,
	}, nil
}

// startWebChat is the web chat, or nil when it is not turned on.
func startWebChat(ctx context.Context, cfg Config, ap *app, messages *assistant.Service) (http.Handler, error) {
	if !cfg.WebChat && !cfg.demo {
		return nil, nil
	}
	st := ap.store
	origins, _ := cfg.webChatOrigins() // validated by openApp
	wc := &webchat.Handler{Messages: messages, Transcripts: st, Articles: st, Keys: st, Logger: ap.log,
		FrameAncestors: origins}
	// The first start creates the session key, so that replicas agree
	// on it before any customer arrives.
	if err := wc.Start(ctx); err != nil {
		return nil, err
	}
	return wc, nil
}

// newServeRecalibrator runs the calibrations editors start from the
// knowledge console, on the configured embedder.
func newServeRecalibrator(cfg Config, ap *app) *recalibrator {
	return newRecalibrator(func(ctx context.Context, progress func(done, total int)) (articlemodel.CalibrationResult, error) {
		return calibrate(ctx, cfg, ap.store, ap.providers.embedder, ap.log, progress)
	}, ap.log)
}

// serving is what serve has opened and built, for the steps that wire it
// into the HTTP server and the background services.
type serving struct {
	cfg      Config
	app      *app
	metrics  *server.Metrics
	importer *ingest.Importer
	messages *assistant.Service
	recal    *recalibrator
	whatsApp *whatsAppChannel // nil: off
	webChat  http.Handler     // nil: off
}

// handler is the HTTP server. A channel that is off is left nil in its
// config, so that its routes are not found.
func (s serving) handler() http.Handler {
	cfg, st, emb, m := s.cfg, s.app.store, s.app.providers.embedder, s.metrics
	// Set only when on: a nil *whatsapp.Webhook in an http.Handler would
	// not be nil.
	var waHandler, waEntry http.Handler
	if s.whatsApp != nil {
		waHandler, waEntry = s.whatsApp.webhook, s.whatsApp.entry
	}
	return server.New(server.Config{
		Logger:           s.app.log,
		Store:            st,
		Degraded:         s.app.providers.degraded,
		Knowledge:        st,
		Searcher:         &knowledge.Searcher{Store: st, Embedder: emb},
		Importer:         s.importer,
		Messages:         s.messages,
		Handoffs:         st,
		Presence:         st,
		History:          st,
		Tools:            st,
		MaskCustomers:    cfg.MaskCustomers,
		Transcripts:      st,
		Conversations:    st,
		Customers:        st,
		Drafts:           &handoff.Review{Drafts: st, Articles: s.importer, Examples: st, Embedder: emb},
		Insights:         st,
		Examples:         st,
		Recalibrator:     s.recal,
		ClaimTTL:         cfg.ClaimTTL,
		RequestTimeout:   cfg.RequestTimeout,
		Metrics:          m,
		MetricsElsewhere: cfg.MetricsAddr != "",
		Auth:             server.FirstOf{server.NewStaticToken(cfg.AdminToken), server.StoredTokens{Tokens: st}},
		MaxUploadBytes:   cfg.MaxUploadBytes,
		WhatsApp:         waHandler,
		WhatsAppEntry:    waEntry,
		WebChat:          s.webChat,
		Channels:         st,
		EventKeys:        st,
	})
}

// listenServe listens on the serve address and, when one is set, on the
// metrics address; metricsAddr is nil without one.
func listenServe(cfg Config, srv http.Handler, m *server.Metrics) (listeners []listener, metricsAddr net.Addr, err error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	listeners = []listener{{name: "relais", ln: ln, h: srv}}
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("listen on the metrics address %s: %w", cfg.MetricsAddr, err)
		}
		listeners = append(listeners, listener{name: "metrics", ln: mln, h: m.Handler()})
		metricsAddr = mln.Addr()
	}
	return listeners, metricsAddr, nil
}

// backgroundServices are the services serve runs beside the HTTP server.
func (s serving) backgroundServices() []namedService {
	cfg, st, p, log := s.cfg, s.app.store, s.app.providers, s.app.log
	// pending decides about pending messages in the background: the
	// assistant, or the WhatsApp handler in front of it (media, opt-outs).
	var pending resumer = s.messages
	if s.whatsApp != nil {
		pending = s.whatsApp.handler
	}
	services := []namedService{
		{"claim reaper", serviceFunc(func(ctx context.Context) error {
			reapClaims(ctx, st, reapEvery, time.Now, log)
			return nil
		})},
		{"resumer", serviceFunc(func(ctx context.Context) error {
			resumePending(ctx, st, pending, resumeEvery, log)
			return nil
		})},
		{"recalibrator", s.recal},
		{"vector index", serviceFunc(func(ctx context.Context) error {
			loadVectorIndex(ctx, st, log)
			<-ctx.Done()
			return nil
		})},
	}
	if cfg.Retention > 0 {
		// Off by default: a service that returned at once would be
		// reported as one that stopped.
		services = append(services, namedService{"retention", serviceFunc(func(ctx context.Context) error {
			runRetention(ctx, st, retentionEvery, cfg.Retention, time.Now, log)
			return nil
		})})
	}
	if p.probe != nil {
		services = append(services, namedService{"embedding probe", serviceFunc(func(ctx context.Context) error {
			p.probe.run(ctx, probeEvery, probeMaxEvery)
			return nil
		})})
	}
	if d, ok := s.outboxDispatcher(); ok {
		services = append(services, d)
	}
	return services
}

// loadVectorIndex loads the store's vector index as serve starts, so that
// the first customer does not wait for it: at 100k chunks reading every
// vector takes seconds. A search that comes first waits for this load
// rather than starting another; a failure leaves the load to that search.
func loadVectorIndex(ctx context.Context, st store, log *slog.Logger) {
	start := time.Now()
	if err := st.LoadVectorIndex(ctx); err != nil {
		if ctx.Err() == nil {
			log.WarnContext(ctx, "vector index: the load at start failed; the first search loads it", "error", err)
		}
		return
	}
	log.InfoContext(ctx, "vector index ready", "took", time.Since(start).Round(time.Millisecond))
}

// outboxDispatcher sends the outbox through the channels that are on, and
// is false when none is. Channel senders (WhatsApp, ...) join its map as
// they are configured. The dispatcher runs only when there is one: the
// outbox of a channel without a sender stays pending, untouched, until
// there is.
func (s serving) outboxDispatcher() (namedService, bool) {
	cfg, st, log := s.cfg, s.app.store, s.app.log
	senders := map[string]channel.Sender{}
	if s.whatsApp != nil {
		senders[whatsapp.Channel] = &whatsapp.Sender{APIBase: cfg.WhatsApp.APIBase, AccessToken: cfg.WhatsApp.AccessToken,
			PhoneNumberID: cfg.WhatsApp.PhoneNumberID, Client: &http.Client{}, Logger: log}
		log.Info("WhatsApp channel on", "webhook", "/webhooks/whatsapp", "phone_number_id", cfg.WhatsApp.PhoneNumberID)
	}
	if s.webChat != nil {
		senders[webchat.Channel] = webchat.Sender{}
		log.Info("web chat on", "page", "/chat", "widget", "/chat/widget.js")
	}
	if len(senders) == 0 {
		return namedService{}, false
	}
	s.metrics.WatchOutbox(st, slices.Sorted(maps.Keys(senders)), log)
	return namedService{"outbox dispatcher",
		&channel.Dispatcher{Outbox: st, Senders: senders, Logger: log, Observer: s.metrics, Gate: conversation.FreeFormGate{Contacts: st}}}, true
}

// listener is one address serve answers on.
type listener struct {
	name string // for the logs
	ln   net.Listener
	h    http.Handler
}

// serveUntilDone serves every listener until ctx ends (or one fails),
// then stops accepting and waits up to 15 s for requests in flight to
// finish.
func serveUntilDone(ctx context.Context, log interface {
	Info(string, ...any)
}, listeners ...listener) error {
	errc := make(chan error, len(listeners))
	servers := make([]*http.Server, len(listeners))
	for i, l := range listeners {
		servers[i] = &http.Server{
			Handler: l.h,
			// Headers must arrive within 10 s and an idle keep-alive
			// connection is closed after 2 min. The bounds on a body and
			// on taking a response are the server's, per route (an import
			// needs longer than a JSON call, and the event stream renews
			// its own), so ReadTimeout and WriteTimeout, which would apply
			// one bound to all, stay unset.
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
		}
		go func() { errc <- servers[i].Serve(l.ln) }()
		log.Info("relais is listening", "addr", l.ln.Addr().String(), "serving", l.name)
	}
	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		log.Info("shutting down: finishing requests in flight")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var errs []error
	for _, hs := range servers {
		if err := hs.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	if serveErr != nil {
		return errors.Join(append([]error{serveErr}, errs...)...)
	}
	for range servers {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	log.Info("stopped")
	return nil
}

func providerErrorKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, relais.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, relais.ErrInvalid):
		return "invalid"
	case errors.Is(err, relais.ErrUnauthorized):
		return "unauthorized"
	default:
		return "other"
	}
}

// probeEvery and probeMaxEvery pace the retries of an embedding model
// that did not answer at the start (see embeddingProbe.run): the first
// soon, in case it was only restarting; then up to one a minute.
const (
	probeEvery    = 5 * time.Second
	probeMaxEvery = time.Minute
)

// degradedSamples is 1 for each endpoint in use that is degraded, 0 for
// the others, so that an alert can tell "fine" from "not reported".
func degradedSamples(endpoints, degraded []string) []metrics.Sample {
	out := make([]metrics.Sample, len(endpoints))
	for i, ep := range endpoints {
		out[i] = metrics.Sample{Labels: []string{ep}}
		if slices.Contains(degraded, ep) {
			out[i].Value = 1
		}
	}
	return out
}

func breakerSamples(states map[string]string) []metrics.Sample {
	var out []metrics.Sample
	for endpoint, state := range states {
		v := 0.0
		switch state {
		case "half-open":
			v = 1
		case "open":
			v = 2
		}
		out = append(out, metrics.Sample{Labels: []string{endpoint}, Value: v})
	}
	return out
}
