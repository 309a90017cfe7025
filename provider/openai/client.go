// Package openai adapts any OpenAI-compatible HTTP API (OpenAI, Azure OpenAI,
// Ollama, vLLM, LiteLLM, llama.cpp) to the interfaces Relais consumes. It owns
// the resilience around those calls: a per-attempt timeout, retries with
// jittered exponential backoff, and one circuit breaker per endpoint, so that
// a provider outage turns into a fast relais.ErrUnavailable the assistant can
// degrade on instead of a pile of hung requests.
//
// Errors never carry the API key, the texts sent, or the provider's free-text
// error message (servers echo inputs in validation errors); they name the
// operation and the HTTP status, error type and code. The provider's original
// error stays reachable with errors.As for a caller that chooses to look.
package openai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
	"github.com/sony/gobreaker/v2"

	"github.com/relais-ai/relais"
)

// API types accepted in Config.APIType.
const (
	APITypeOpenAI = "openai" // OpenAI and every server that mimics its API
	APITypeAzure  = "azure"  // Azure OpenAI: api-key header, deployments in the path
)

// Defaults applied by New to zero Config fields.
const (
	DefaultBaseURL        = "https://api.openai.com/v1"
	DefaultTimeout        = 30 * time.Second
	DefaultMaxRetries     = 3
	DefaultBatchSize      = 64
	DefaultRetryBaseDelay = 500 * time.Millisecond
	DefaultRetryMaxDelay  = 8 * time.Second

	DefaultChatMaxTokens = 1024

	DefaultBreakerFailureThreshold = 5
	DefaultBreakerOpenTimeout      = 30 * time.Second
	DefaultBreakerHalfOpenRequests = 1
)

// Values accepted in Config.ChatResponseFormat: how Generate asks the model
// for its JSON reply.
const (
	// ResponseFormatJSONSchema sends the reply's JSON schema with strict
	// mode, so that the server constrains the model to it (OpenAI, Azure,
	// vLLM, recent Ollama and llama.cpp).
	ResponseFormatJSONSchema = "json_schema"
	// ResponseFormatJSONObject only asks for some JSON object ("JSON mode")
	// and relies on the prompt for its shape: the fallback for servers that
	// reject or ignore json_schema. Replies are checked the same way.
	ResponseFormatJSONObject = "json_object"
)

// maxBatchSize is OpenAI's limit on inputs per embeddings request; other
// servers accept at least as many or do not care.
const maxBatchSize = 2048

// Config configures a Client. The zero value of every optional field means
// its default.
type Config struct {
	// BaseURL is the API root including its version path, such as
	// "http://localhost:11434/v1" for Ollama. Default DefaultBaseURL for
	// APITypeOpenAI; required for APITypeAzure ("https://NAME.openai.azure.com").
	BaseURL string
	// APIKey authenticates every call. Optional for local servers; required
	// for api.openai.com and for Azure.
	APIKey string
	// APIType is APITypeOpenAI (default) or APITypeAzure.
	APIType string
	// AzureAPIVersion overrides go-openai's default api-version query
	// parameter. Only valid with APITypeAzure.
	AzureAPIVersion string

	// EmbeddingModel names the embedding model (the deployment name on
	// Azure). At least one of EmbeddingModel and ChatModel is required.
	EmbeddingModel string
	// EmbeddingDimensions asks models that can shorten their vectors
	// (text-embedding-3 and later) for this many dimensions, and is then
	// enforced on every response. 0 keeps the model's own dimension, learned
	// from the first response (see Client.Probe).
	EmbeddingDimensions int
	// EmbeddingEncoding is "" (let the server choose, which is "float"
	// everywhere), "float", or "base64", which roughly halves response sizes
	// on servers that support it.
	EmbeddingEncoding string
	// ChatModel names the chat model (the deployment name on Azure) used by
	// Generate and Summarize.
	ChatModel string
	// ChatMaxTokens bounds the tokens of each chat reply. A reply cut off by
	// it is unusable (its JSON is incomplete), so raise it for reasoning
	// models, whose hidden reasoning counts against it. Default
	// DefaultChatMaxTokens.
	ChatMaxTokens int
	// ChatResponseFormat is ResponseFormatJSONSchema (default) or
	// ResponseFormatJSONObject, for OpenAI-compatible servers that lack
	// json_schema (they answer 400, or ignore it and reply in prose).
	ChatResponseFormat string

	// Timeout bounds each attempt, not the whole call with its retries;
	// the caller's context bounds that. Default DefaultTimeout.
	Timeout time.Duration
	// MaxRetries is how many times a failed attempt is retried when the
	// failure is transient (429 other than insufficient_quota, 408, 5xx,
	// timeouts, connection errors). 0 means DefaultMaxRetries; a negative
	// value disables retries.
	MaxRetries int
	// RetryBaseDelay and RetryMaxDelay shape the backoff: retry n waits a
	// random duration in [0, min(RetryMaxDelay, RetryBaseDelay*2^(n-1))),
	// or longer when the server asks for it with Retry-After (up to
	// RetryMaxDelay). Defaults DefaultRetryBaseDelay and DefaultRetryMaxDelay
	// (or RetryBaseDelay, if that is larger).
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// BatchSize is the most texts sent in one embeddings request. Default
	// DefaultBatchSize, at most 2048.
	BatchSize int

	// Breaker tunes the circuit breaker kept for each endpoint.
	Breaker BreakerConfig
	// OnStateChange, when set, is called whenever an endpoint's breaker
	// changes state, with the endpoint ("embeddings", "chat") and the states
	// ("closed", "open", "half-open"); use it to export metrics. It runs
	// synchronously while the breaker holds its lock: it must be quick and
	// must not call back into the Client.
	OnStateChange func(endpoint, from, to string)

	// Logger receives breaker state changes, retried failures, learned
	// embedding dimensions and citations dropped from chat replies, never
	// the texts sent or received. Default: discard.
	Logger *slog.Logger
	// HTTPClient sends the requests. Default: a plain http.Client; per-attempt
	// timeouts come from contexts, so it needs no Timeout of its own.
	HTTPClient *http.Client
	// Sleep waits for d or until ctx ends, returning ctx.Err() in that case.
	// Tests replace it so that backoff costs no wall-clock time. Default: a
	// timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// BreakerConfig tunes a circuit breaker. Only failures that say the provider
// is in trouble count against it (429, 5xx, timeouts, connection errors,
// malformed responses, chat replies that are not the JSON asked for or are
// cut off); a rejected input, a reply that fails on one question's merits
// (see Client.Generate) or a cancelled call does not.
type BreakerConfig struct {
	// FailureThreshold is how many consecutive failed attempts open the
	// breaker. Each retry is an attempt. Default DefaultBreakerFailureThreshold.
	FailureThreshold uint32
	// OpenTimeout is how long an open breaker fails calls fast before it lets
	// trial calls through (half-open). Default DefaultBreakerOpenTimeout.
	OpenTimeout time.Duration
	// HalfOpenRequests is how many trial calls a half-open breaker lets
	// through; that many successes close it, one failure opens it again.
	// Default DefaultBreakerHalfOpenRequests.
	HalfOpenRequests uint32
}

// Client calls an OpenAI-compatible API. It implements knowledge.Embedder and
// assistant.Generator. It is safe for concurrent use.
type Client struct {
	api *goopenai.Client

	apiKey         string // kept only to scrub it from error messages
	embeddingModel string
	encoding       goopenai.EmbeddingEncodingFormat
	// requestedDims is sent with every embeddings request; dims is what
	// responses must match: the configured value, or the one learned from
	// the first response (then fixed for the Client's life, so Space is stable).
	requestedDims int
	dims          atomic.Int64

	chatModel      string
	chatMaxTokens  int
	responseFormat string

	timeout    time.Duration
	maxRetries int
	retryBase  time.Duration
	retryMax   time.Duration
	batchSize  int

	logger        *slog.Logger
	sleep         func(ctx context.Context, d time.Duration) error
	randFloat     func() float64 // in [0, 1); replaced by tests
	breakerCfg    BreakerConfig
	onStateChange func(endpoint, from, to string)

	// breakers maps endpoint names to their breaker's state; written only
	// in New, so reads need no lock.
	breakers     map[string]func() gobreaker.State
	embedBreaker *gobreaker.CircuitBreaker[[][]float32]
	chatBreaker  *gobreaker.CircuitBreaker[completion]
}

// New validates cfg, applies defaults and returns a Client. A bad field gives
// an error wrapping relais.ErrInvalid that names it. New makes no network
// call; use Probe to check that the provider answers.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("openai config: %w", err)
	}
	cfg.setDefaults()

	var apiCfg goopenai.ClientConfig
	switch cfg.APIType {
	case APITypeAzure:
		apiCfg = goopenai.DefaultAzureConfig(cfg.APIKey, cfg.BaseURL)
		if cfg.AzureAPIVersion != "" {
			apiCfg.APIVersion = cfg.AzureAPIVersion
		}
	default:
		apiCfg = goopenai.DefaultConfig(cfg.APIKey)
		apiCfg.BaseURL = cfg.BaseURL
	}
	apiCfg.HTTPClient = cfg.HTTPClient

	c := &Client{
		api:            goopenai.NewClientWithConfig(apiCfg),
		apiKey:         cfg.APIKey,
		embeddingModel: cfg.EmbeddingModel,
		encoding:       goopenai.EmbeddingEncodingFormat(cfg.EmbeddingEncoding),
		requestedDims:  cfg.EmbeddingDimensions,
		chatModel:      cfg.ChatModel,
		chatMaxTokens:  cfg.ChatMaxTokens,
		responseFormat: cfg.ChatResponseFormat,
		timeout:        cfg.Timeout,
		maxRetries:     cfg.MaxRetries,
		retryBase:      cfg.RetryBaseDelay,
		retryMax:       cfg.RetryMaxDelay,
		batchSize:      cfg.BatchSize,
		logger:         cfg.Logger,
		sleep:          cfg.Sleep,
		randFloat:      rand.Float64,
		breakerCfg:     cfg.Breaker,
		onStateChange:  cfg.OnStateChange,
		breakers:       make(map[string]func() gobreaker.State),
	}
	c.dims.Store(int64(cfg.EmbeddingDimensions))
	c.embedBreaker = newBreaker[[][]float32](c, endpointEmbeddings)
	c.chatBreaker = newBreaker[completion](c, endpointChat)
	return c, nil
}

// BreakerStates reports each endpoint's breaker state ("closed", "open" or
// "half-open") for metrics and readiness pages.
func (c *Client) BreakerStates() map[string]string {
	states := make(map[string]string, len(c.breakers))
	for name, state := range c.breakers {
		states[name] = state().String()
	}
	return states
}

func (cfg *Config) validate() error {
	var p configProblems
	cfg.validateAPIType(&p)
	cfg.validateBaseURL(&p)
	cfg.validateModels(&p)
	cfg.validateTimings(&p)
	return errors.Join(p...)
}

// configProblems collects every bad field of a Config, so that one error
// names them all, in the order of the fields.
type configProblems []error

func (p *configProblems) bad(format string, args ...any) {
	*p = append(*p, fmt.Errorf(format+": %w", append(args, relais.ErrInvalid)...))
}

// validateAPIType checks APIType and the fields only one API type takes.
func (cfg *Config) validateAPIType(p *configProblems) {
	switch cfg.APIType {
	case "", APITypeOpenAI:
		if cfg.AzureAPIVersion != "" {
			p.bad("AzureAPIVersion is set but APIType is not %q", APITypeAzure)
		}
	case APITypeAzure:
		if cfg.BaseURL == "" {
			p.bad("BaseURL is required with APIType %q", APITypeAzure)
		}
		if cfg.APIKey == "" {
			p.bad("APIKey is required with APIType %q", APITypeAzure)
		}
	default:
		p.bad("APIType %q is not one of %q, %q", cfg.APIType, APITypeOpenAI, APITypeAzure)
	}
}

// validateBaseURL checks BaseURL, and the APIKey that OpenAI's own endpoint
// needs.
func (cfg *Config) validateBaseURL(p *configProblems) {
	if cfg.BaseURL == "" {
		if cfg.APIType != APITypeAzure && cfg.APIKey == "" {
			p.bad("APIKey is required when BaseURL is empty (it defaults to %s)", DefaultBaseURL)
		}
		return
	}
	// The URL is not quoted back: someone may have put a key in it.
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case err != nil:
		p.bad("BaseURL does not parse as a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		p.bad("BaseURL must start with http:// or https://")
	case u.Host == "":
		p.bad("BaseURL has no host")
	case u.Hostname() == "api.openai.com" && cfg.APIKey == "":
		p.bad("APIKey is required for api.openai.com")
	}
}

// validateModels checks the embedding and chat settings.
func (cfg *Config) validateModels(p *configProblems) {
	if cfg.EmbeddingModel == "" && cfg.ChatModel == "" {
		p.bad("EmbeddingModel or ChatModel is required")
	}
	if cfg.EmbeddingDimensions < 0 {
		p.bad("EmbeddingDimensions is %d; want 0 (model default) or more", cfg.EmbeddingDimensions)
	}
	switch goopenai.EmbeddingEncodingFormat(cfg.EmbeddingEncoding) {
	case "", goopenai.EmbeddingEncodingFormatFloat, goopenai.EmbeddingEncodingFormatBase64:
	default:
		p.bad("EmbeddingEncoding %q is not one of \"\", %q, %q", cfg.EmbeddingEncoding,
			goopenai.EmbeddingEncodingFormatFloat, goopenai.EmbeddingEncodingFormatBase64)
	}
	if cfg.ChatMaxTokens < 0 {
		p.bad("ChatMaxTokens is %d; want 0 (default %d) or more", cfg.ChatMaxTokens, DefaultChatMaxTokens)
	}
	switch cfg.ChatResponseFormat {
	case "", ResponseFormatJSONSchema, ResponseFormatJSONObject:
	default:
		p.bad("ChatResponseFormat %q is not one of \"\" (default %s), %q, %q", cfg.ChatResponseFormat,
			ResponseFormatJSONSchema, ResponseFormatJSONSchema, ResponseFormatJSONObject)
	}
}

// validateTimings checks the timeout, retry, batch and breaker settings.
func (cfg *Config) validateTimings(p *configProblems) {
	if cfg.Timeout < 0 {
		p.bad("Timeout is %s; want 0 (default %s) or more", cfg.Timeout, DefaultTimeout)
	}
	if cfg.RetryBaseDelay < 0 {
		p.bad("RetryBaseDelay is %s; want 0 (default %s) or more", cfg.RetryBaseDelay, DefaultRetryBaseDelay)
	}
	if cfg.RetryMaxDelay < 0 {
		p.bad("RetryMaxDelay is %s; want 0 (default %s) or more", cfg.RetryMaxDelay, DefaultRetryMaxDelay)
	}
	if cfg.RetryBaseDelay > 0 && cfg.RetryMaxDelay > 0 && cfg.RetryMaxDelay < cfg.RetryBaseDelay {
		p.bad("RetryMaxDelay (%s) is below RetryBaseDelay (%s)", cfg.RetryMaxDelay, cfg.RetryBaseDelay)
	}
	if cfg.BatchSize < 0 || cfg.BatchSize > maxBatchSize {
		p.bad("BatchSize is %d; want 0 (default %d) to %d", cfg.BatchSize, DefaultBatchSize, maxBatchSize)
	}
	if cfg.Breaker.OpenTimeout < 0 {
		p.bad("Breaker.OpenTimeout is %s; want 0 (default %s) or more", cfg.Breaker.OpenTimeout, DefaultBreakerOpenTimeout)
	}
}

func (cfg *Config) setDefaults() {
	if cfg.APIType == "" {
		cfg.APIType = APITypeOpenAI
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.ChatMaxTokens == 0 {
		cfg.ChatMaxTokens = DefaultChatMaxTokens
	}
	if cfg.ChatResponseFormat == "" {
		cfg.ChatResponseFormat = ResponseFormatJSONSchema
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if cfg.RetryMaxDelay == 0 {
		cfg.RetryMaxDelay = max(DefaultRetryMaxDelay, cfg.RetryBaseDelay)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Breaker.FailureThreshold == 0 {
		cfg.Breaker.FailureThreshold = DefaultBreakerFailureThreshold
	}
	if cfg.Breaker.OpenTimeout == 0 {
		cfg.Breaker.OpenTimeout = DefaultBreakerOpenTimeout
	}
	if cfg.Breaker.HalfOpenRequests == 0 {
		cfg.Breaker.HalfOpenRequests = DefaultBreakerHalfOpenRequests
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepContext
	}
}

// scrub removes the API key from a message built from a lower-level error,
// in case a proxy or a URL ever carries it.
func (c *Client) scrub(msg string) string {
	if c.apiKey == "" {
		return msg
	}
	return strings.ReplaceAll(msg, c.apiKey, "[redacted]")
}
