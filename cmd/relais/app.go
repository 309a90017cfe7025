package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"relais"
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
	Ping(ctx context.Context) error
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

// newEmbedder returns the OpenAI-compatible embedder when a model is
// configured, the offline hashing embedder otherwise.
func newEmbedder(ctx context.Context, cfg Config, log *slog.Logger) (knowledge.Embedder, error) {
	if cfg.EmbeddingModel == "" {
		return local.NewHashingEmbedder(0)
	}
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
		return nil, fmt.Errorf("configure the embedding provider: %w", err)
	}
	if client.Space().Dimensions == 0 {
		// The model's default size is only known from a first call; the store
		// must know it before anything is compared.
		if _, err := client.Probe(ctx); err != nil {
			return nil, fmt.Errorf("reach the embedding model %s: %w", cfg.EmbeddingModel, err)
		}
	}
	return client, nil
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
