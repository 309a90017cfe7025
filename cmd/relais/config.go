package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/channel/whatsapp"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/provider/openai"
	"github.com/relais-ai/relais/redact"
	"github.com/relais-ai/relais/server"
)

// Config is every setting of Relais, parsed once from RELAIS_* environment
// variables and then flags (flags win), and validated before use.
type Config struct {
	Addr        string // RELAIS_ADDR
	DataDir     string // RELAIS_DATA_DIR: the embedded store's folder
	DatabaseURL string // RELAIS_DATABASE_URL: PostgreSQL; the embedded store when empty
	// MetricsAddr serves /metrics on an address of its own instead of Addr
	// (RELAIS_METRICS_ADDR), so that it can stay off a public listener; on
	// Addr when empty.
	MetricsAddr string

	// LLMProvider is RELAIS_LLM_PROVIDER: "openai" (the default: OpenAI or
	// any server with its API, at LLMBaseURL) or "azure" (Azure OpenAI at
	// AzureEndpoint, the models naming deployments).
	LLMProvider         string
	AzureEndpoint       string // RELAIS_AZURE_OPENAI_ENDPOINT: https://NAME.openai.azure.com
	AzureAPIVersion     string // RELAIS_AZURE_OPENAI_API_VERSION: go-openai's default when empty
	LLMBaseURL          string // RELAIS_LLM_BASE_URL: an OpenAI-compatible server
	LLMAPIKey           string // RELAIS_LLM_API_KEY
	ChatModel           string // RELAIS_CHAT_MODEL
	EmbeddingModel      string // RELAIS_EMBEDDING_MODEL: offline hashing embedder when empty
	EmbeddingDimensions int    // RELAIS_EMBEDDING_DIMENSIONS: 0 = the model's default
	Thesaurus           string // RELAIS_THESAURUS: the hashing embedder's thesaurus file; the built-in one when empty
	LLMTimeout          time.Duration
	// RequestTimeout is the deadline of an API call (RELAIS_REQUEST_TIMEOUT):
	// a customer message is decided within it, a provider that does not
	// answer in time falling back to the extractive answer or a handoff.
	RequestTimeout time.Duration

	AdminToken string // RELAIS_ADMIN_TOKEN

	// WhatsApp is the WhatsApp Cloud API channel; off while none of its
	// variables is set.
	WhatsApp WhatsAppConfig
	// WebChat turns the web chat (/chat, /chat/widget.js) on
	// (RELAIS_WEBCHAT, serve --webchat; serve --demo turns it on too). Off
	// by default: it lets anyone who reaches the server talk to the
	// assistant and reach the agents' queue, without a token.
	WebChat bool
	// WebChatOrigins are the sites whose pages may show the chat in a frame,
	// as the widget does (RELAIS_WEBCHAT_ORIGINS): origins such as
	// https://shop.example, separated by spaces or commas.
	WebChatOrigins string
	// ClaimTTL is how long an agent's claim on a handoff lasts without an
	// action on it (RELAIS_CLAIM_TTL).
	ClaimTTL       time.Duration
	MaxUploadBytes int64   // RELAIS_MAX_UPLOAD_BYTES
	MaxWrongRate   float64 // RELAIS_MAX_WRONG_RATE: what calibration aims at
	// Threshold pins the assistant's confidence threshold (RELAIS_THRESHOLD);
	// 0 uses the calibrated one.
	Threshold float64
	// IntentsFile adds an operator's intent examples to the built-in ones
	// (RELAIS_INTENTS_FILE).
	IntentsFile string
	// demo adds the demo's intent examples (serve --demo, demo chat); no
	// environment variable sets it.
	demo bool
	// ClarifyFirst asks the customer to rephrase once before handing off an
	// unclear question (RELAIS_CLARIFY_FIRST).
	ClarifyFirst bool

	// BusinessHours are the team's hours, such as
	// "Europe/Paris;mon-fri 09:00-18:00;sat 10:00-14:00"
	// (RELAIS_BUSINESS_HOURS); always open when empty. See handoff.ParseHours.
	BusinessHours string
	// QueueRoutes routes handoffs to queues (RELAIS_QUEUE_ROUTES), such as
	// "sensitive:fraud=fraud;topic:billing=billing;default=general". See
	// handoff.ParseRouting.
	QueueRoutes string
	// SLA is how long each priority may wait (RELAIS_SLA), such as
	// "urgent=15m;high=1h;normal=4h". See handoff.ParseSLA.
	SLA string
	// Retention is how long serve keeps a closed conversation after its
	// last activity before erasing it (RELAIS_RETENTION, such as "365d");
	// 0 keeps conversations forever. See runRetention.
	Retention time.Duration

	LogFormat string // RELAIS_LOG_FORMAT: text or json
	LogLevel  string // RELAIS_LOG_LEVEL: debug, info, warn, error

	// Redact replaces personal data (email addresses, phone numbers, IBANs,
	// card numbers, French social-security numbers) with placeholders in
	// what goes to a remote model and in the logs (RELAIS_REDACT, on by
	// default). Stored conversations keep the original text.
	Redact bool
	// MaskCustomers hides most of a customer's phone number or id, and the
	// personal data of their earlier questions, in the agent console's
	// customer panel (RELAIS_MASK_CUSTOMERS, off by default).
	MaskCustomers bool
}

// maxRequestTimeout bounds RELAIS_REQUEST_TIMEOUT: a message's turn (the
// request, then storing its outcome) must end within the lease its handler
// holds on it, or another handler would decide it again.
const maxRequestTimeout = conversation.HandlingLease - assistant.DefaultStoreTimeout - 5*time.Second

func defaultConfig() Config {
	return Config{
		Addr:           ":8080",
		DataDir:        "./relais-data",
		LLMTimeout:     30 * time.Second,
		RequestTimeout: 30 * time.Second,
		ClaimTTL:       server.DefaultClaimTTL,
		MaxUploadBytes: 20 << 20,
		MaxWrongRate:   articlemodel.DefaultMaxWrongRate,
		ClarifyFirst:   true,
		LogFormat:      "text",
		LogLevel:       "info",
		Redact:         true,
	}
}

// fromEnv overlays the RELAIS_* variables that are set. A variable that does
// not parse is an error naming it.
func (c *Config) fromEnv(getenv func(string) string) error {
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("RELAIS_ADDR", &c.Addr)
	str("RELAIS_METRICS_ADDR", &c.MetricsAddr)
	str("RELAIS_DATA_DIR", &c.DataDir)
	str("RELAIS_DATABASE_URL", &c.DatabaseURL)
	str("RELAIS_LLM_PROVIDER", &c.LLMProvider)
	str("RELAIS_AZURE_OPENAI_ENDPOINT", &c.AzureEndpoint)
	str("RELAIS_AZURE_OPENAI_API_VERSION", &c.AzureAPIVersion)
	str("RELAIS_LLM_BASE_URL", &c.LLMBaseURL)
	str("RELAIS_LLM_API_KEY", &c.LLMAPIKey)
	str("RELAIS_CHAT_MODEL", &c.ChatModel)
	str("RELAIS_EMBEDDING_MODEL", &c.EmbeddingModel)
	str("RELAIS_ADMIN_TOKEN", &c.AdminToken)
	str("RELAIS_LOG_FORMAT", &c.LogFormat)
	str("RELAIS_LOG_LEVEL", &c.LogLevel)
	str("RELAIS_INTENTS_FILE", &c.IntentsFile)
	str("RELAIS_BUSINESS_HOURS", &c.BusinessHours)
	str("RELAIS_QUEUE_ROUTES", &c.QueueRoutes)
	str("RELAIS_SLA", &c.SLA)
	str("RELAIS_WHATSAPP_VERIFY_TOKEN", &c.WhatsApp.VerifyToken)
	str("RELAIS_WHATSAPP_APP_SECRET", &c.WhatsApp.AppSecret)
	str("RELAIS_WHATSAPP_ACCESS_TOKEN", &c.WhatsApp.AccessToken)
	str("RELAIS_WHATSAPP_PHONE_NUMBER_ID", &c.WhatsApp.PhoneNumberID)
	str("RELAIS_WHATSAPP_API_BASE", &c.WhatsApp.APIBase)
	str("RELAIS_WHATSAPP_DISPLAY_NUMBER", &c.WhatsApp.DisplayNumber)
	str("RELAIS_WEBCHAT_ORIGINS", &c.WebChatOrigins)
	str("RELAIS_THESAURUS", &c.Thesaurus)
	str("RELAIS_WHATSAPP_UNSUPPORTED", &c.WhatsApp.Unsupported)
	return errors.Join(
		envValue(getenv, "RELAIS_EMBEDDING_DIMENSIONS", &c.EmbeddingDimensions, strconv.Atoi, "a whole number"),
		envValue(getenv, "RELAIS_MAX_UPLOAD_BYTES", &c.MaxUploadBytes, parseInt64, "a whole number of bytes"),
		envValue(getenv, "RELAIS_WHATSAPP_MAX_MEDIA_BYTES", &c.WhatsApp.MaxMediaBytes, parseInt64, "a whole number of bytes"),
		envValue(getenv, "RELAIS_WHATSAPP_WORKERS", &c.WhatsApp.Workers, strconv.Atoi, "a whole number"),
		envValue(getenv, "RELAIS_MAX_WRONG_RATE", &c.MaxWrongRate, parseFloat, "a number"),
		envValue(getenv, "RELAIS_THRESHOLD", &c.Threshold, parseFloat, "a number"),
		envValue(getenv, "RELAIS_CLARIFY_FIRST", &c.ClarifyFirst, strconv.ParseBool, "true or false"),
		envValue(getenv, "RELAIS_CLAIM_TTL", &c.ClaimTTL, time.ParseDuration, "a duration such as 15m"),
		envValue(getenv, "RELAIS_LLM_TIMEOUT", &c.LLMTimeout, time.ParseDuration, "a duration such as 30s"),
		envValue(getenv, "RELAIS_REQUEST_TIMEOUT", &c.RequestTimeout, time.ParseDuration, "a duration such as 30s"),
		envValue(getenv, "RELAIS_REDACT", &c.Redact, strconv.ParseBool, "true or false"),
		envValue(getenv, "RELAIS_MASK_CUSTOMERS", &c.MaskCustomers, strconv.ParseBool, "true or false"),
		envValue(getenv, "RELAIS_WEBCHAT", &c.WebChat, strconv.ParseBool, "true or false"),
		envValue(getenv, "RELAIS_RETENTION", &c.Retention, parseRetention,
			"a duration such as 365d, 30d or 12h (whole days with d, or a Go duration; 0 keeps conversations forever)"),
	)
}

// maxRetentionDays is the longest retention a time.Duration holds.
const maxRetentionDays = math.MaxInt64 / int64(24*time.Hour)

// parseRetention reads a retention period: a whole number of days with the
// suffix d ("365d"), which is how data-protection policies state them, or a
// Go duration ("12h", "90m"). "0" keeps conversations forever; a negative
// period is an error, not a way to erase everything at once.
func parseRetention(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > maxRetentionDays {
			return 0, fmt.Errorf("retention %q: want a whole number of days from 0 to %d before the d", s, maxRetentionDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("retention %q: must not be negative", s)
	}
	return d, nil
}

// envValue parses variable name, when it is set, into dst; the error names
// the variable and says what it should be.
func envValue[T any](getenv func(string) string, name string, dst *T, parse func(string) (T, error), want string) error {
	raw := getenv(name)
	if raw == "" {
		return nil
	}
	v, err := parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %q is not %s", name, raw, want)
	}
	*dst = v
	return nil
}

func parseInt64(s string) (int64, error)   { return strconv.ParseInt(s, 10, 64) }
func parseFloat(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

// storageFlags binds the flags every command that opens a store takes.
func (c *Config) storageFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "folder of the embedded store, used when no database URL is set (RELAIS_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL, e.g. postgres://user@host/db (RELAIS_DATABASE_URL)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json (RELAIS_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error (RELAIS_LOG_LEVEL)")
}

// assistantFlags binds the flags that tune the assistant's decisions.
func (c *Config) assistantFlags(fs *flag.FlagSet) {
	fs.Float64Var(&c.Threshold, "threshold", c.Threshold, "pin the confidence threshold (0 = the calibrated one) (RELAIS_THRESHOLD)")
	fs.StringVar(&c.IntentsFile, "intents-file", c.IntentsFile, "extra intent examples to load after the built-in ones (RELAIS_INTENTS_FILE)")
}

// providerFlags binds the model provider flags.
func (c *Config) providerFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.LLMProvider, "llm-provider", c.LLMProvider, `model provider: "openai" (OpenAI or any server with its API; the default) or "azure" (RELAIS_LLM_PROVIDER)`)
	fs.StringVar(&c.AzureEndpoint, "azure-openai-endpoint", c.AzureEndpoint, "Azure OpenAI resource endpoint, e.g. https://NAME.openai.azure.com, with --llm-provider azure (RELAIS_AZURE_OPENAI_ENDPOINT)")
	fs.StringVar(&c.AzureAPIVersion, "azure-openai-api-version", c.AzureAPIVersion, "Azure OpenAI api-version; the client's default when empty (RELAIS_AZURE_OPENAI_API_VERSION)")
	fs.StringVar(&c.LLMBaseURL, "llm-base-url", c.LLMBaseURL, "OpenAI-compatible API base URL, e.g. http://localhost:11434/v1 (RELAIS_LLM_BASE_URL)")
	fs.StringVar(&c.EmbeddingModel, "embedding-model", c.EmbeddingModel, "embedding model on that server; the offline hashing embedder when empty (RELAIS_EMBEDDING_MODEL)")
	fs.IntVar(&c.EmbeddingDimensions, "embedding-dimensions", c.EmbeddingDimensions, "embedding dimensions to request; 0 for the model's default (RELAIS_EMBEDDING_DIMENSIONS)")
	fs.StringVar(&c.ChatModel, "chat-model", c.ChatModel, "chat model on that server (RELAIS_CHAT_MODEL)")
	fs.StringVar(&c.Thesaurus, "thesaurus", c.Thesaurus, "the offline embedder's thesaurus file (groups of equivalent words, one a line); the built-in English/French one when empty (RELAIS_THESAURUS)")
}

// handoffRules are the queue routes, SLA and business hours as validate
// parsed them, for serve's escalator.
type handoffRules struct {
	routing handoff.Routing
	sla     handoff.SLA
	hours   handoff.Hours
}

// validate checks the whole config and names every bad field with the
// values it accepts. It returns the handoff rules it parsed on the way, so
// that nothing parses them again.
func (c *Config) validate() (handoffRules, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	rules := c.parseHandoffRules(bad)
	c.checkLogging(bad)
	c.checkStorage(bad)
	azure := c.checkModelProvider(bad)
	c.checkEmbedder(bad, azure)
	c.checkLimits(bad)
	if c.ChatModel != "" && c.LLMBaseURL == "" && !azure {
		bad("chat model (--chat-model, RELAIS_CHAT_MODEL)", "is set but RELAIS_LLM_BASE_URL is not: set the server URL too, or unset the model to answer extractively")
	}
	c.checkServing(bad)
	c.checkChannels(bad)
	if len(errs) > 0 {
		return handoffRules{}, fmt.Errorf("invalid configuration:\n  %w", joinIndented(errs))
	}
	return rules, nil
}

// badField records that a field of the config is invalid, saying why and
// what it accepts. validate's steps report to it in a fixed order, so
// that the list of problems reads the same from one run to the next.
type badField func(field, format string, args ...any)

// parseHandoffRules parses the queue routes, SLA and business hours.
func (c *Config) parseHandoffRules(bad badField) handoffRules {
	var rules handoffRules
	var err error
	if rules.routing, err = handoff.ParseRouting(c.QueueRoutes); err != nil {
		bad("queue routes (RELAIS_QUEUE_ROUTES)", "%v", err)
	}
	if rules.sla, err = handoff.ParseSLA(c.SLA); err != nil {
		bad("SLA (RELAIS_SLA)", "%v", err)
	}
	if rules.hours, err = handoff.ParseHours(c.BusinessHours); err != nil {
		bad("business hours (--business-hours, RELAIS_BUSINESS_HOURS)", "%v", err)
	}
	return rules
}

func (c *Config) checkLogging(bad badField) {
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log format (--log-format, RELAIS_LOG_FORMAT)", "%q is not one of text, json", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		bad("log level (--log-level, RELAIS_LOG_LEVEL)", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
}

func (c *Config) checkStorage(bad badField) {
	if c.DatabaseURL == "" && strings.TrimSpace(c.DataDir) == "" {
		bad("data dir (--data-dir, RELAIS_DATA_DIR)", "is empty and no database URL is set: one of them is needed")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("database URL (--database-url, RELAIS_DATABASE_URL)", "must be a postgres:// or postgresql:// URL")
		}
	}
}

// checkModelProvider checks the model server's address and the provider's
// settings, and reports whether the provider is Azure OpenAI, whose address
// is not the LLM base URL.
func (c *Config) checkModelProvider(bad badField) (azure bool) {
	if c.LLMBaseURL != "" {
		u, err := url.Parse(c.LLMBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("LLM base URL (--llm-base-url, RELAIS_LLM_BASE_URL)", "must be an http:// or https:// URL such as http://localhost:11434/v1")
		}
	}
	switch c.LLMProvider {
	case "", openai.APITypeOpenAI:
		if c.AzureEndpoint != "" || c.AzureAPIVersion != "" {
			bad("LLM provider (--llm-provider, RELAIS_LLM_PROVIDER)", "is not azure but an Azure OpenAI endpoint or API version is set: set RELAIS_LLM_PROVIDER=azure, or unset them")
		}
	case openai.APITypeAzure:
		// https, or http to this machine only (a local gateway, a test):
		// the key travels in a header.
		if u, err := url.Parse(c.AzureEndpoint); err != nil || u.Host == "" ||
			(u.Scheme != "https" && (u.Scheme != "http" || !isLoopback(u.Hostname()))) {
			bad("Azure OpenAI endpoint (--azure-openai-endpoint, RELAIS_AZURE_OPENAI_ENDPOINT)", "must be the resource's https:// URL such as https://NAME.openai.azure.com")
		}
		if c.LLMBaseURL != "" {
			bad("LLM base URL (--llm-base-url, RELAIS_LLM_BASE_URL)", "is set with RELAIS_LLM_PROVIDER=azure: Azure's address is RELAIS_AZURE_OPENAI_ENDPOINT; unset one")
		}
		if c.LLMAPIKey == "" {
			bad("LLM API key (RELAIS_LLM_API_KEY)", "is required with RELAIS_LLM_PROVIDER=azure: the resource's key")
		}
		if c.ChatModel == "" && c.EmbeddingModel == "" {
			bad("LLM provider (--llm-provider, RELAIS_LLM_PROVIDER)", "is azure but no deployment is named: set RELAIS_CHAT_MODEL and/or RELAIS_EMBEDDING_MODEL to deployment names")
		}
	default:
		bad("LLM provider (--llm-provider, RELAIS_LLM_PROVIDER)", "%q is not one of openai, azure", c.LLMProvider)
	}
	return c.LLMProvider == openai.APITypeAzure
}

// checkEmbedder checks the embedding model, or the offline embedder's
// thesaurus, against the provider (azure: see checkModelProvider).
func (c *Config) checkEmbedder(bad badField, azure bool) {
	if c.EmbeddingModel != "" && c.LLMBaseURL == "" && !azure {
		bad("embedding model (--embedding-model, RELAIS_EMBEDDING_MODEL)", "is set but RELAIS_LLM_BASE_URL is not: set the server URL too, or unset the model to use the offline embedder")
	}
	if c.Thesaurus != "" && c.EmbeddingModel != "" {
		bad("thesaurus (--thesaurus, RELAIS_THESAURUS)", "applies to the offline hashing embedder only, and an embedding model is set: unset one of them")
	}
	if c.EmbeddingDimensions < 0 || c.EmbeddingDimensions > 16000 {
		bad("embedding dimensions (--embedding-dimensions, RELAIS_EMBEDDING_DIMENSIONS)", "%d is outside 0..16000", c.EmbeddingDimensions)
	}
}

// checkLimits checks the upload size and the assistant's bounds on wrong
// answers and confidence.
func (c *Config) checkLimits(bad badField) {
	if c.MaxUploadBytes <= 0 {
		bad("max upload bytes (RELAIS_MAX_UPLOAD_BYTES)", "must be positive, got %d", c.MaxUploadBytes)
	}
	if c.MaxWrongRate <= 0 || c.MaxWrongRate >= 1 {
		bad("max wrong rate (RELAIS_MAX_WRONG_RATE)", "must be between 0 and 1 (exclusive), got %v", c.MaxWrongRate)
	}
	if c.Threshold < 0 || c.Threshold > 1 {
		bad("threshold (--threshold, RELAIS_THRESHOLD)", "must be from 0 to 1 (0 = use the calibrated one), got %v", c.Threshold)
	}
}

// checkServing checks serve's addresses, timeouts and retention.
func (c *Config) checkServing(bad badField) {
	if c.RequestTimeout < time.Second || c.RequestTimeout > maxRequestTimeout {
		bad("request timeout (RELAIS_REQUEST_TIMEOUT)", "must be between 1s and %v, got %v", maxRequestTimeout, c.RequestTimeout)
	}
	if c.MetricsAddr != "" && c.MetricsAddr == c.Addr {
		bad("metrics address (--metrics-addr, RELAIS_METRICS_ADDR)", "is the main address %s: leave it empty to serve /metrics there, or give another", c.Addr)
	}
	if c.LLMTimeout <= 0 {
		bad("LLM timeout (RELAIS_LLM_TIMEOUT)", "must be positive, got %v", c.LLMTimeout)
	}
	if c.Retention < 0 {
		bad("retention (RELAIS_RETENTION)", "must be a duration such as 365d or 12h, or 0 to keep conversations forever, got %v", c.Retention)
	}
	if c.ClaimTTL <= 0 {
		bad("claim TTL (--claim-ttl, RELAIS_CLAIM_TTL)", "must be a positive duration such as 15m, got %v", c.ClaimTTL)
	}
}

// checkChannels checks the WhatsApp channel and the web chat.
func (c *Config) checkChannels(bad badField) {
	if missing := c.WhatsApp.missing(); len(missing) > 0 && c.WhatsApp.enabled() {
		bad("WhatsApp channel", "%s not set: set all of them to turn the channel on, or none to leave it off", strings.Join(missing, ", "))
	}
	if base := c.WhatsApp.APIBase; base != "" && !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		bad("WhatsApp API base (RELAIS_WHATSAPP_API_BASE)", "must be an http:// or https:// URL such as %s", whatsapp.DefaultAPIBase)
	}
	if n := c.WhatsApp.DisplayNumber; n != "" {
		if _, err := whatsapp.NormalizeNumber(n); err != nil {
			bad("WhatsApp display number (--whatsapp-display-number, RELAIS_WHATSAPP_DISPLAY_NUMBER)", "%v", err)
		}
	}
	if _, err := c.webChatOrigins(); err != nil {
		bad("web chat origins (RELAIS_WEBCHAT_ORIGINS)", "%v", err)
	}
	switch c.WhatsApp.Unsupported {
	case "", whatsapp.UnsupportedReply, whatsapp.UnsupportedHandoff:
	default:
		bad("WhatsApp unsupported messages (RELAIS_WHATSAPP_UNSUPPORTED)", "must be %q (ask for text) or %q, got %q",
			whatsapp.UnsupportedReply, whatsapp.UnsupportedHandoff, c.WhatsApp.Unsupported)
	}
	if c.WhatsApp.Workers < 0 || c.WhatsApp.Workers > 1024 {
		bad("WhatsApp workers (RELAIS_WHATSAPP_WORKERS)", "must be from 1 to 1024 (0 for the default, %d), got %d", whatsapp.DefaultConcurrency, c.WhatsApp.Workers)
	}
	if c.WhatsApp.MaxMediaBytes < 0 {
		bad("WhatsApp media limit (RELAIS_WHATSAPP_MAX_MEDIA_BYTES)", "must not be negative, got %d", c.WhatsApp.MaxMediaBytes)
	}
}

func joinIndented(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// newLogger builds the process logger. Logs go to stderr so that command
// output on stdout stays clean for scripts. With Redact on, personal data
// in a log line is replaced before it is written: Relais does not log
// customer text, and this is the guard for a line that quotes some anyway.
func (c *Config) newLogger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	if c.Redact {
		h = redact.NewLogHandler(h)
	}
	return slog.New(h)
}

// WhatsAppConfig configures the WhatsApp channel. The verify token, app
// secret and access token are secrets: never log them.
type WhatsAppConfig struct {
	VerifyToken   string // RELAIS_WHATSAPP_VERIFY_TOKEN: the webhook handshake's token
	AppSecret     string // RELAIS_WHATSAPP_APP_SECRET: signs every webhook delivery
	AccessToken   string // RELAIS_WHATSAPP_ACCESS_TOKEN: the Graph API bearer token
	PhoneNumberID string // RELAIS_WHATSAPP_PHONE_NUMBER_ID: the business number that sends
	// APIBase is the Graph API with its version (RELAIS_WHATSAPP_API_BASE);
	// whatsapp.DefaultAPIBase when empty.
	APIBase string
	// DisplayNumber is the business number customers write to, for the
	// click-to-chat link and QR code (RELAIS_WHATSAPP_DISPLAY_NUMBER,
	// --whatsapp-display-number); as the webhook reports it when empty.
	DisplayNumber string
	// Unsupported is what a voice note, location, sticker... gets
	// (RELAIS_WHATSAPP_UNSUPPORTED): whatsapp.UnsupportedReply (default) or
	// whatsapp.UnsupportedHandoff.
	Unsupported string
	// MaxMediaBytes bounds a stored photo or document
	// (RELAIS_WHATSAPP_MAX_MEDIA_BYTES); conversation.MaxMediaBytes when 0.
	MaxMediaBytes int64
	// Workers bounds the conversations answered at once in the
	// background (RELAIS_WHATSAPP_WORKERS); whatsapp.DefaultConcurrency
	// when 0.
	Workers int
}

// whatsAppWorkers is how many conversations the WhatsApp webhook answers at
// once: RELAIS_WHATSAPP_WORKERS when set; else, with the offline pipeline
// (no chat or embedding model), one per core, since its turns are CPU and
// more of them at once only slow the webhook and each other; else
// whatsapp.DefaultConcurrency, as a turn then mostly waits for the model.
// BenchmarkWhatsAppLoad's chat model answers at once, so its turns are CPU
// too: on two cores, one worker per replica (its workers=1 run) gave a
// webhook p95 of 75 ms and answered everything sooner; 16 gave 147 ms.
func (c *Config) whatsAppWorkers() int {
	switch {
	case c.WhatsApp.Workers > 0:
		return c.WhatsApp.Workers
	case c.ChatModel == "" && c.EmbeddingModel == "":
		return runtime.GOMAXPROCS(0)
	default:
		return whatsapp.DefaultConcurrency
	}
}

// enabled reports whether any WhatsApp variable is set: then all the
// required ones must be.
func (w WhatsAppConfig) enabled() bool {
	return w.VerifyToken != "" || w.AppSecret != "" || w.AccessToken != "" || w.PhoneNumberID != "" || w.APIBase != "" ||
		w.DisplayNumber != ""
}

// missing names the required WhatsApp variables that are not set.
func (w WhatsAppConfig) missing() []string {
	var m []string
	for _, v := range []struct{ name, value string }{
		{"RELAIS_WHATSAPP_VERIFY_TOKEN", w.VerifyToken},
		{"RELAIS_WHATSAPP_APP_SECRET", w.AppSecret},
		{"RELAIS_WHATSAPP_ACCESS_TOKEN", w.AccessToken},
		{"RELAIS_WHATSAPP_PHONE_NUMBER_ID", w.PhoneNumberID},
	} {
		if v.value == "" {
			m = append(m, v.name)
		}
	}
	return m
}

// webChatOrigins parses WebChatOrigins: each must be a bare http or https
// origin, as a Content-Security-Policy frame-ancestors source expects.
func (c *Config) webChatOrigins() ([]string, error) {
	var out []string
	for _, o := range strings.FieldsFunc(c.WebChatOrigins, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("%q is not an origin: want a scheme and a host, such as https://shop.example", o)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out, nil
}

// openAIConfig is the model client's configuration: the provider, its
// address and key; the caller adds the models it uses.
func (c *Config) openAIConfig() openai.Config {
	cfg := openai.Config{BaseURL: c.LLMBaseURL, APIKey: c.LLMAPIKey, Timeout: c.LLMTimeout}
	if c.LLMProvider == openai.APITypeAzure {
		cfg.APIType, cfg.BaseURL, cfg.AzureAPIVersion = openai.APITypeAzure, c.AzureEndpoint, c.AzureAPIVersion
	}
	return cfg
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
