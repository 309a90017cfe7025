package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"relais"
	"relais/assistant"
	"relais/auth"
	"relais/conversation"
	"relais/handoff"
	"relais/knowledge"
	"relais/postgres"
	"relais/provider/local"
	"relais/provider/openai"
	"relais/sqlite"
)

// store is everything the commands need from storage; both the PostgreSQL
// and the embedded store provide it.
type store interface {
	knowledge.Store
	knowledge.ExampleStore
	conversation.Store
	handoff.Store
	handoff.DraftStore
	conversation.Outbox
	conversation.PersonalData
	auth.Store
	Ping(ctx context.Context) error
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

// openApp validates the config and opens the store and the providers.
// onProviderError (optional) is told of every failed provider call.
func openApp(ctx context.Context, e env, cfg Config, onProviderError func(string, error)) (*app, error) {
	rules, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	log := cfg.newLogger(e.stderr)
	st, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	p, err := newProviders(ctx, cfg, log, onProviderError)
	if err != nil {
		closeStore()
		return nil, err
	}
	return &app{log: log, store: st, providers: p, handoff: rules, close: closeStore}, nil
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
// one unless a model is configured) and, with a chat model, the generator.
type providers struct {
	embedder  knowledge.Embedder
	generator assistant.Generator // nil: extractive answers
	client    *openai.Client      // nil when no model server is configured
}

// newProviders builds the providers the configuration asks for. An
// embedding model of unknown size is probed once, since the store must know
// the dimension before anything is compared.
func newProviders(ctx context.Context, cfg Config, log *slog.Logger, onError func(endpoint string, err error)) (providers, error) {
	var p providers
	if cfg.EmbeddingModel != "" || cfg.ChatModel != "" {
		client, err := openai.New(openai.Config{
			BaseURL:             cfg.LLMBaseURL,
			APIKey:              cfg.LLMAPIKey,
			EmbeddingModel:      cfg.EmbeddingModel,
			EmbeddingDimensions: cfg.EmbeddingDimensions,
			ChatModel:           cfg.ChatModel,
			Timeout:             cfg.LLMTimeout,
			Logger:              log,
		})
		if err != nil {
			return p, fmt.Errorf("configure the model provider: %w", err)
		}
		p.client = client
	}
	if cfg.EmbeddingModel == "" {
		emb, err := local.NewHashingEmbedder(0)
		if err != nil {
			return p, err
		}
		p.embedder = emb
	} else {
		if p.client.Space().Dimensions == 0 {
			if _, err := p.client.Probe(ctx); err != nil {
				return p, fmt.Errorf("reach the embedding model %s: %w", cfg.EmbeddingModel, err)
			}
		}
		p.embedder = countingEmbedder{p.client, onError}
	}
	if cfg.ChatModel != "" {
		p.generator = countingGenerator{p.client, onError}
	}
	return p, nil
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
	examples := assistant.DefaultIntentExamples()
	if cfg.IntentsFile != "" {
		f, err := os.Open(cfg.IntentsFile)
		if err != nil {
			return nil, fmt.Errorf("intents file (RELAIS_INTENTS_FILE): %w", err)
		}
		extra, err := assistant.ParseIntentExamples(f, cfg.IntentsFile)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("intents file (RELAIS_INTENTS_FILE): %w", err)
		}
		examples = append(examples, extra...)
	}
	intents, err := assistant.NewIntentClassifier(examples)
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
func calibrate(ctx context.Context, cfg Config, st store, emb knowledge.Embedder, log *slog.Logger, progress func(done, total int)) (assistant.CalibrationResult, error) {
	c := &assistant.Calibrator{
		Examples:     st,
		Searcher:     &knowledge.Searcher{Store: st, Embedder: emb},
		Articles:     st,
		Embedder:     emb,
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

// checkSpace fails when the store was embedded with another model than the
// configured one: vectors of two models cannot be compared, so searching
// would silently return nonsense.
func checkSpace(ctx context.Context, st knowledge.Store, emb knowledge.Embedder) error {
	want := emb.Space()
	have, err := st.EmbeddingSpace(ctx)
	if errors.Is(err, relais.ErrNotFound) {
		return nil // empty store: the first import records the space
	}
	if err != nil {
		return fmt.Errorf("read the store's embedding model: %w", err)
	}
	if have != want {
		return fmt.Errorf("the knowledge base was embedded with %s (%d dimensions) but Relais is configured for %s (%d dimensions): "+
			"re-embed it with 'relais ingest --reembed' (same settings), or set RELAIS_EMBEDDING_MODEL back: %w",
			have.Model, have.Dimensions, want.Model, want.Dimensions, relais.ErrConflict)
	}
	return nil
}
