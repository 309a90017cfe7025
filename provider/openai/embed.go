package openai

import (
	"context"
	"fmt"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

var _ knowledge.Embedder = (*Client)(nil)

// probeText is what Probe embeds: fixed, so that no customer data is sent
// just to learn a dimension.
const probeText = "Relais embedding probe"

// Embed returns one vector per text, in order, each of Space().Dimensions,
// sending at most Config.BatchSize texts per request, one request after the
// other. Empty input returns nil without a call.
//
// Errors wrap relais.ErrUnavailable when the provider cannot be reached, is
// failing, is rate limited or out of quota, answers with something that is
// not one vector per text of the expected dimension, or when its circuit
// breaker is open (then without calling it); relais.ErrInvalid when a text is
// empty or the provider rejects the input; relais.ErrTooLarge when it rejects
// the request as too large; relais.ErrUnauthorized when it rejects the key;
// ctx.Err() when ctx ends first. Nothing is returned for texts of earlier
// batches when a later batch fails.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	if c.embeddingModel == "" {
		return nil, fmt.Errorf("openai %s: Config.EmbeddingModel is not set: %w", endpointEmbeddings, relais.ErrInvalid)
	}
	for i, text := range texts {
		if text == "" {
			// Every OpenAI-compatible server rejects it, after a round trip.
			return nil, fmt.Errorf("openai %s: text %d of %d is empty: %w", endpointEmbeddings, i, len(texts), relais.ErrInvalid)
		}
	}

	vectors := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += c.batchSize {
		batch := texts[start:min(start+c.batchSize, len(texts))]
		got, err := call(ctx, c, c.embedBreaker, endpointEmbeddings, func(ctx context.Context) ([][]float32, error) {
			return c.embedBatch(ctx, batch)
		})
		if err != nil {
			if len(batch) < len(texts) {
				return nil, fmt.Errorf("embed texts %d to %d of %d: %w", start, start+len(batch)-1, len(texts), err)
			}
			return nil, err
		}
		vectors = append(vectors, got...)
	}
	return vectors, nil
}

// Space names the model and the dimension of the vectors Embed returns.
// When Config.EmbeddingDimensions is 0, Dimensions is 0 until the first
// successful Embed or Probe has learned it, and never changes after that;
// call Probe at startup when the store must be checked against Space first.
func (c *Client) Space() knowledge.EmbeddingSpace {
	return knowledge.EmbeddingSpace{Model: c.embeddingModel, Dimensions: int(c.dims.Load())}
}

// AssumeDimensions sets the dimension Space reports, before a response has
// taught it, to n: the one a store recorded for this model. It lets a
// server start while the provider is down without probing it; responses
// are then held to n, as to a configured dimension. It reports false,
// changing nothing, when the dimension is already known (configured or
// learned) or n is not positive.
func (c *Client) AssumeDimensions(n int) bool {
	if n <= 0 || !c.dims.CompareAndSwap(0, int64(n)) {
		return false
	}
	c.logger.Info("assumed embedding dimension", "model", c.embeddingModel, "dimensions", n)
	return true
}

// Probe embeds a fixed text (no customer data) to check that the provider
// answers with vectors of the configured dimension, and, when
// Config.EmbeddingDimensions is 0, to learn the dimension Space reports.
// It always calls the provider, so it doubles as a readiness check. Its
// errors are those of Embed.
func (c *Client) Probe(ctx context.Context) (knowledge.EmbeddingSpace, error) {
	if _, err := c.Embed(ctx, []string{probeText}); err != nil {
		return knowledge.EmbeddingSpace{}, fmt.Errorf("probe embedding space: %w", err)
	}
	return c.Space(), nil
}

// embedBatch is one attempt at embedding batch.
func (c *Client) embedBatch(ctx context.Context, batch []string) ([][]float32, error) {
	resp, err := c.api.CreateEmbeddings(ctx, goopenai.EmbeddingRequestStrings{
		Input:          batch,
		Model:          goopenai.EmbeddingModel(c.embeddingModel),
		Dimensions:     c.requestedDims,
		EncodingFormat: c.encoding,
	})
	if err != nil {
		return nil, withRetryAfter(err, resp.Header())
	}
	return c.orderedVectors(ctx, resp.Data, len(batch))
}

// orderedVectors checks that data holds exactly one vector per input, all of
// the expected dimension, and returns them in input order: the API does not
// promise to return them in order, only to index them.
func (c *Client) orderedVectors(ctx context.Context, data []goopenai.Embedding, n int) ([][]float32, error) {
	if len(data) != n {
		return nil, badResponse("server returned %d embeddings for %d texts", len(data), n)
	}
	want := int(c.dims.Load())
	dim := want
	vectors := make([][]float32, n)
	for _, d := range data {
		switch {
		case d.Index < 0 || d.Index >= n:
			return nil, badResponse("server returned embedding index %d for %d texts", d.Index, n)
		case vectors[d.Index] != nil:
			return nil, badResponse("server returned embedding index %d twice", d.Index)
		case len(d.Embedding) == 0:
			return nil, badResponse("server returned an empty embedding at index %d", d.Index)
		case dim == 0:
			dim = len(d.Embedding)
		case len(d.Embedding) != dim:
			if want == 0 {
				return nil, badResponse("server returned embeddings of %d and %d dimensions in one response", dim, len(d.Embedding))
			}
			return nil, badResponse("server returned a %d-dimension embedding, expected %d", len(d.Embedding), want)
		}
		vectors[d.Index] = d.Embedding
	}
	if want == 0 {
		if c.dims.CompareAndSwap(0, int64(dim)) {
			c.logger.InfoContext(ctx, "learned embedding dimension", "model", c.embeddingModel, "dimensions", dim)
		} else if learned := int(c.dims.Load()); learned != dim {
			// A concurrent first call learned a different dimension.
			return nil, badResponse("server returned a %d-dimension embedding, expected %d", dim, learned)
		}
	}
	return vectors, nil
}
