package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/assistant/intent"
	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/postgres"
	"github.com/relais-ai/relais/provider/local"
	"github.com/relais-ai/relais/provider/openai"
	"github.com/relais-ai/relais/sqlite"
)

// store is everything the commands need from storage; both the PostgreSQL
// and the embedded store provide it.
type store interface {
	knowledge.Store
	knowledge.ExampleStore
	conversation.Store
	handoff.Store
	handoff.DraftStore
	handoff.PresenceStore
	handoff.CustomerHistory
	handoff.ReplyTools
	conversation.Outbox
	conversation.OutboxDepth
	conversation.PersonalData
	conversation.Contacts
	conversation.MediaStore
	conversation.Deliveries
	conversation.Insights
	auth.Store
	auth.KeyStore
	Ping(ctx context.Context) error
	// LoadVectorIndex loads the in-memory vector index now, instead of at
	// the first search.
	LoadVectorIndex(ctx context.Context) error
}

// app is what a command runs on: its logger, store and providers, and the
// handoff rules of its validated config.
type app struct {
	log       *slog.Logger
	store     store
	providers providers
	handoff   handoffRules
	close     func()
}

// appOptions tune what openApp opens.
type appOptions struct {
	// onProviderError, when set, is told of every failed provider call.
	onProviderError func(endpoint string, err error)
	// startDegraded lets the app open while the embedding model does not
	// answer (serve; see newDegradableProviders). Other commands need the
	// model there and then, and fail.
	startDegraded bool
}

// openApp validates the config and opens the store and the providers.
func openApp(ctx context.Context, e env, cfg Config, opts appOptions) (*app, error) {
	rules, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	log := cfg.newLogger(e.stderr)
	st, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	var p providers
	if opts.startDegraded {
		p, err = newDegradableProviders(ctx, cfg, log, opts.onProviderError, st)
	} else {
		p, err = newProviders(ctx, cfg, log, opts.onProviderError)
	}
	if err != nil {
		closeStore()
		return nil, err
	}
	return &app{log: log, store: st, providers: p, handoff: rules, close: closeStore}, nil
}

// openStoreOnly validates cfg and opens its store, for the subcommands that
// need the store and nothing else (no model provider): migrate, token,
// customer, webchat rotate-key. The returned func closes it.
func openStoreOnly(ctx context.Context, e env, cfg Config) (store, func(), error) {
	if _, err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	return openStore(ctx, cfg, cfg.newLogger(e.stderr))
}

// openStore opens PostgreSQL when a URL is configured, the embedded store in
// the data dir otherwise. Both run their migrations on open. The returned
// func closes it.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (store, func(), error) {
	if cfg.DatabaseURL != "" {
		db, err := postgres.Open(ctx, cfg.DatabaseURL, log)
		if err != nil {
			return nil, nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return db, func() { db.Close() }, nil
	}
	db, err := sqlite.Open(ctx, cfg.DataDir, log)
	if err != nil {
		return nil, nil, fmt.Errorf("open the embedded store in %s: %w", cfg.DataDir, err)
	}
	return db, func() {
		if err := db.Close(); err != nil {
			log.Warn("close the embedded store", "error", err)
		}
	}, nil
}

// providers are the model-backed parts: the embedder (the offline hashing
// one unless a model is configured) and, with a chat model, the generator
// and the handoff summarizer. Those that send text to a model server redact
// personal data first when Config.Redact is on (see redact.go).
type providers struct {
	embedder  knowledge.Embedder
	generator assistant.Generator // nil: extractive answers
	client    *openai.Client      // nil when no model server is configured
	// endpoints are the client's endpoints in use: "embeddings" with an
	// embedding model, "chat" with a chat model.
	endpoints []string
	// probe watches an embedding model that did not answer when serve
	// started; nil when it did, or when there is none.
	probe *embeddingProbe
	// summarizer writes handoff summaries with the chat model; nil without
	// one. The escalator falls back to its extractive summary then, and
	// whenever the model fails.
	summarizer handoff.Summarizer
}

// newProviders builds the providers the configuration asks for. An
// embedding model of unknown size is probed once, since the store must know
// the dimension before anything is compared; a model that does not answer
// is an error.
func newProviders(ctx context.Context, cfg Config, log *slog.Logger, onError func(endpoint string, err error)) (providers, error) {
	p, err := buildProviders(cfg, log, onError)
	if err != nil || !p.dimensionUnknown() {
		return p, err
	}
	if _, err := p.client.Probe(ctx); err != nil {
		return p, fmt.Errorf("reach the embedding model %s: %w", cfg.EmbeddingModel, err)
	}
	return p, nil
}

// startupProbeTimeout bounds serve's first probe of the embedding model,
// retries included: a model server that hangs must not hold the start.
const startupProbeTimeout = 10 * time.Second

// newDegradableProviders is newProviders for serve, which must start while
// the embedding model is down (unreachable, 5xx, timing out): webhooks keep
// arriving, and a customer's message is stored and handed to a person with
// provider_unavailable rather than refused. The dimension is then the one
// the store recorded for the model, if it did, and p.probe retries the
// model in the background (see embeddingProbe.run). A model that answers
// with an error that will not go away by itself (a wrong key, an unknown
// model) still stops the start: that is a configuration to fix.
func newDegradableProviders(ctx context.Context, cfg Config, log *slog.Logger, onError func(endpoint string, err error), st knowledge.Store) (providers, error) {
	p, err := buildProviders(cfg, log, onError)
	if err != nil || !p.dimensionUnknown() {
		return p, err
	}
	probeCtx, cancel := context.WithTimeout(ctx, startupProbeTimeout)
	_, err = p.client.Probe(probeCtx)
	cancel()
	switch {
	case err == nil:
		return p, nil
	case ctx.Err() != nil:
		return p, ctx.Err()
	case !errors.Is(err, relais.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded):
		return p, fmt.Errorf("reach the embedding model %s: %w", cfg.EmbeddingModel, err)
	}
	log.Warn("the embedding model does not answer: serving degraded, conversations go to a person (provider_unavailable) until it does",
		"model", cfg.EmbeddingModel, "error", err)
	have, err := st.EmbeddingSpace(ctx)
	switch {
	case err == nil && have.Model == cfg.EmbeddingModel:
		p.client.AssumeDimensions(have.Dimensions)
	case err != nil && !errors.Is(err, relais.ErrNotFound):
		return p, fmt.Errorf("read the store's embedding model: %w", err)
	}
	p.probe = &embeddingProbe{probe: p.client.Probe, log: log}
	p.probe.pending.Store(true)
	return p, nil
}

// buildProviders makes the providers without calling any.
func buildProviders(cfg Config, log *slog.Logger, onError func(endpoint string, err error)) (providers, error) {
	var p providers
	if cfg.EmbeddingModel != "" || cfg.ChatModel != "" {
		oc := cfg.openAIConfig()
		oc.EmbeddingModel, oc.EmbeddingDimensions, oc.ChatModel, oc.Logger = cfg.EmbeddingModel, cfg.EmbeddingDimensions, cfg.ChatModel, log
		client, err := openai.New(oc)
		if err != nil {
			return p, fmt.Errorf("configure the model provider: %w", err)
		}
		p.client = client
	}
	if cfg.EmbeddingModel == "" {
		thesaurus := local.DefaultThesaurus()
		if cfg.Thesaurus != "" {
			data, err := readLimited(cfg.Thesaurus, 1<<20)
			if err != nil {
				return p, fmt.Errorf("read the thesaurus (RELAIS_THESAURUS): %w", err)
			}
			if thesaurus, err = local.ParseThesaurus(data); err != nil {
				return p, fmt.Errorf("the thesaurus %s: %w", cfg.Thesaurus, err)
			}
		}
		emb, err := local.NewHashingEmbedderWith(cfg.EmbeddingDimensions, thesaurus)
		if err != nil {
			return p, err
		}
		p.embedder = emb
	} else {
		p.embedder = countingEmbedder{p.client, onError}
		p.endpoints = append(p.endpoints, endpointEmbeddings)
		if cfg.Redact {
			p.embedder = redactingEmbedder{p.embedder}
		}
	}
	if cfg.ChatModel != "" {
		p.generator = countingGenerator{p.client, onError}
		p.endpoints = append(p.endpoints, endpointChat)
		p.summarizer = p.client
		if cfg.Redact {
			p.generator = redactingGenerator{p.generator}
			p.summarizer = redactingSummarizer{p.summarizer}
		}
	}
	return p, nil
}

// The client's endpoint names, as its breaker states and errors name them.
const (
	endpointEmbeddings = "embeddings"
	endpointChat       = "chat"
)

// dimensionUnknown reports whether the embedding model's dimension is
// neither configured nor learned yet.
func (p providers) dimensionUnknown() bool {
	return p.client != nil && slices.Contains(p.endpoints, endpointEmbeddings) && p.client.Space().Dimensions == 0
}

// degraded lists the endpoints working in a degraded mode now: the
// embedding model while it has not answered since the start, and any
// endpoint whose circuit breaker is not closed (the provider failed
// repeatedly and calls fail fast).
func (p providers) degraded() []string {
	var out []string
	var states map[string]string
	if p.client != nil {
		states = p.client.BreakerStates()
	}
	for _, ep := range p.endpoints {
		pending := ep == endpointEmbeddings && p.probe != nil && p.probe.Pending()
		if state := states[ep]; pending || (state != "" && state != "closed") {
			out = append(out, ep)
		}
	}
	return out
}

// embeddingProbe is serve's watch on an embedding model that did not
// answer at the start.
type embeddingProbe struct {
	probe   func(ctx context.Context) (knowledge.EmbeddingSpace, error)
	log     *slog.Logger
	pending atomic.Bool
}

// Pending reports whether the model has not answered a probe yet.
func (p *embeddingProbe) Pending() bool { return p.pending.Load() }

// run probes the model until it answers or ctx ends: after every at first,
// then twice as long after each failure, up to maxEvery, so that a model
// server down for the night is not called, nor logged about, every few
// seconds. Once it answers, the dimension is known and Pending is false.
func (p *embeddingProbe) run(ctx context.Context, every, maxEvery time.Duration) {
	wait := every
	for p.Pending() {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		space, err := p.probe(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			wait = min(2*wait, maxEvery)
			p.log.WarnContext(ctx, "the embedding model still does not answer: serving degraded", "retry_in", wait, "error", err)
			continue
		}
		p.pending.Store(false)
		p.log.InfoContext(ctx, "the embedding model answers: no longer degraded", "model", space.Model, "dimensions", space.Dimensions)
	}
}

// countingEmbedder and countingGenerator report provider failures (for the
// metrics) without changing what the callers see.
type countingEmbedder struct {
	knowledge.Embedder
	onError func(string, error)
}

func (c countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	v, err := c.Embedder.Embed(ctx, texts)
	if err != nil && c.onError != nil {
		c.onError("embeddings", err)
	}
	return v, err
}

type countingGenerator struct {
	assistant.Generator
	onError func(string, error)
}

func (c countingGenerator) Generate(ctx context.Context, req assistant.GenerateRequest) (assistant.Generated, error) {
	g, err := c.Generator.Generate(ctx, req)
	if err != nil && c.onError != nil {
		c.onError("chat", err)
	}
	return g, err
}

// newAssistant builds the assistant over a store: retrieval from the
// knowledge base and examples, intents from the built-in examples plus the
// operator's file, the calibration stored with the examples.
func newAssistant(cfg Config, st store, p providers, log *slog.Logger) (*assistant.Assistant, error) {
	examples := intent.DefaultExamples()
	if cfg.demo {
		extra, err := demoIntentExamples()
		if err != nil {
			return nil, err
		}
		examples = append(examples, extra...)
	}
	if cfg.IntentsFile != "" {
		f, err := os.Open(cfg.IntentsFile)
		if err != nil {
			return nil, fmt.Errorf("intents file (RELAIS_INTENTS_FILE): %w", err)
		}
		extra, err := intent.ParseExamples(f, cfg.IntentsFile)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("intents file (RELAIS_INTENTS_FILE): %w", err)
		}
		examples = append(examples, extra...)
	}
	intents, err := intent.New(examples)
	if err != nil {
		return nil, fmt.Errorf("intent examples: %w", err)
	}
	return &assistant.Assistant{
		Retriever:   &knowledge.Searcher{Store: st, Embedder: p.embedder},
		Intents:     intents,
		Generator:   p.generator,
		Calibration: st,
		Logger:      log,
		Config: assistant.Config{
			Threshold:    cfg.Threshold,
			MaxWrongRate: cfg.MaxWrongRate,
			ClarifyFirst: cfg.ClarifyFirst,
			AskFeedback:  true,
		},
	}, nil
}

// calibrate re-estimates the confidence threshold from the stored examples
// and stores it. Too few examples is not an error: the assistant keeps the
// default threshold and says so.
func calibrate(ctx context.Context, cfg Config, st store, emb knowledge.Embedder, log *slog.Logger, progress func(done, total int)) (articlemodel.CalibrationResult, error) {
	c := &articlemodel.Calibrator{
		Examples:     st,
		Searcher:     &knowledge.Searcher{Store: st, Embedder: emb},
		Articles:     st,
		MaxWrongRate: cfg.MaxWrongRate,
		Logger:       log,
		Progress:     progress,
	}
	cal, err := c.Calibrate(ctx)
	if err != nil {
		return cal, err
	}
	cal.EmbeddingModel = emb.Space().Model
	if err := st.SaveCalibration(ctx, cal.Calibration); err != nil {
		return cal, fmt.Errorf("store the calibration: %w", err)
	}
	return cal, nil
}

// checkEmbedderSpace fails when the store was embedded with another model
// than the configured one (knowledge.EmbeddingSpace.Match): vectors of two
// models cannot be compared, so searching would silently return nonsense.
func checkEmbedderSpace(ctx context.Context, st knowledge.Store, emb knowledge.Embedder) error {
	want := emb.Space()
	have, err := st.EmbeddingSpace(ctx)
	if errors.Is(err, relais.ErrNotFound) {
		return nil // empty store: the first import records the space
	}
	if err != nil {
		return fmt.Errorf("read the store's embedding model: %w", err)
	}
	if have.Match(want) != nil {
		return fmt.Errorf("the knowledge base was embedded with %s (%d dimensions) but Relais is configured for %s (%d dimensions): "+
			"re-embed it with 'relais ingest --reembed' (same settings), or set RELAIS_EMBEDDING_MODEL back: %w",
			have.Model, have.Dimensions, want.Model, want.Dimensions, relais.ErrConflict)
	}
	return nil
}

// offlineUpgrade tells whether the store was embedded by another version or
// setting of the built-in hashing embedder and emb is the built-in one too:
// a re-embedding that costs nothing but a little time.
func offlineUpgrade(ctx context.Context, st knowledge.Store, emb knowledge.Embedder) bool {
	have, err := st.EmbeddingSpace(ctx)
	return err == nil && strings.HasPrefix(have.Model, "relais-hashing-") && strings.HasPrefix(emb.Space().Model, local.HashingModel)
}

// readLimited reads a file of at most limit bytes.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes", path, limit)
	}
	return data, nil
}
