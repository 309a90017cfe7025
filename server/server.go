// Package server is Relais's HTTP face: the chi router, authentication, the
// JSON API of DESIGN.md section 6 and the health endpoints. Handlers hold
// interfaces, not concrete stores, and map domain errors to status codes in
// one place (writeError).
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/ingest"
	"github.com/relais-ai/relais/knowledge"
)

// DefaultMaxUploadBytes bounds an import upload unless configured.
const DefaultMaxUploadBytes = ingest.DefaultMaxFileBytes

// Pinger reports whether storage is reachable, for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Degraded names the providers working in a degraded mode now (such as
// "embeddings" while the model server does not answer), for /readyz.
type Degraded func() []string

// Config wires the server to the rest of Relais.
type Config struct {
	Logger *slog.Logger
	Store  Pinger
	// Degraded, when set, lists the providers /readyz reports as degraded.
	// They do not make Relais unready: a customer's message is still
	// stored and handed to a person, so a load balancer must keep
	// routing webhooks and agents here.
	Degraded  Degraded
	Knowledge knowledge.Store
	Searcher  *knowledge.Searcher
	Importer  *ingest.Importer
	// Messages runs customer messages through the assistant.
	Messages *assistant.Service
	// Handoffs is the agents' queue; without it the /v1/handoffs API is
	// not served.
	Handoffs handoff.Store
	// Conversations lets integrating apps read a conversation back
	// (GET /v1/conversations/{id}/messages); the route is off when nil.
	Conversations ConversationReader
	// Transcripts shows agents the conversations they take over and keeps
	// their replies; required with Handoffs.
	Transcripts Transcripts
	// Channels shows agents what channels recorded (media, delivery
	// statuses, consent) and refuses a reply the customer may not receive
	// (conversation.CanSendFreeForm); optional.
	Channels ChannelState
	// Now is the clock of those refusals; time.Now when nil.
	Now func() time.Time
	// ClaimTTL is how long an agent's claim lasts without an action on the
	// ticket; DefaultClaimTTL when 0.
	ClaimTTL time.Duration
	// Drafts reviews the answers agents save when resolving a ticket;
	// without it the /v1/knowledge/drafts API is not served and a resolve
	// with a draft is refused.
	Drafts *handoff.Review
	// Insights reads the recorded decisions back for the knowledge
	// console: GET /v1/knowledge/gaps, /v1/knowledge/dashboard and
	// /v1/knowledge/articles/{id}/stats are off when nil.
	Insights conversation.Insights
	// Examples stores the questions editors label in the console (POST
	// /v1/knowledge/examples, embedded by Importer) and reads the
	// calibration (GET /v1/knowledge/calibration, and the dashboard's);
	// those routes are off when nil.
	Examples ExampleStore
	// Recalibrator runs a calibration in the background for POST
	// /v1/knowledge/calibration; the route is off when nil.
	Recalibrator Recalibrator
	// Customers answers data-protection requests, for admins: export and
	// erase everything about one customer (/v1/customers); the routes are
	// off when nil.
	Customers conversation.PersonalData
	// Metrics are served at /metrics; a fresh set when nil.
	Metrics *Metrics
	// MetricsElsewhere leaves /metrics out of this router: it is served on
	// an address of its own (Metrics.Handler), out of the public
	// listener's reach.
	MetricsElsewhere bool
	Auth             Authenticator
	// Presence keeps the agents' online/away status; without it the
	// /v1/agents/presence API is not served.
	Presence handoff.PresenceStore
	// History shows an agent what a ticket's customer asked before (GET
	// /v1/handoffs/{id}/customer, which also needs Channels); the route is
	// off when nil.
	History handoff.CustomerHistory
	// MaskCustomers hides most of a customer's identifiers (redact.MaskID)
	// and the personal data of their earlier questions in the customer
	// panel (RELAIS_MASK_CUSTOMERS).
	MaskCustomers bool
	// Tools keeps the quick replies and labels admins prepare for agents
	// (/v1/quick-replies, /v1/labels, PUT /v1/handoffs/{id}/labels); those
	// routes are off when nil.
	Tools handoff.ReplyTools
	// Agents says who a ticket may be reassigned to; Auth when nil and it
	// can tell (StaticToken, StoredTokens and FirstOf can). Without either,
	// POST /v1/handoffs/{id}/reassign is not served.
	Agents Agents
	// MaxUploadBytes bounds a knowledge import body; DefaultMaxUploadBytes when 0.
	MaxUploadBytes int64
	// RequestTimeout is the deadline of an ordinary API call; 30s when 0.
	// Imports get ten times as long: embedding a large file takes a while.
	// A request's body must arrive within it, and its response be taken
	// within twice it (see deadlines); the event stream renews its own.
	RequestTimeout time.Duration
	// WhatsApp, when set, serves /webhooks/whatsapp (GET and POST). It is
	// outside the bearer-token auth: Meta signs each delivery instead, and
	// the handler checks that signature. Not found when nil.
	WhatsApp http.Handler
	// WhatsAppEntry, when set, serves GET /v1/whatsapp/link and
	// /v1/whatsapp/qr.png (the click-to-chat link and its QR code); not
	// found when nil.
	WhatsAppEntry http.Handler
	// WebChat, when set, serves /chat and everything under it: the web
	// chat page, its widget script and the page's API. Outside the
	// bearer-token auth: its customers are anonymous, on a signed session
	// cookie the handler checks. Not found when nil.
	WebChat http.Handler
	// EventKeys keeps the keys that sign event tickets (both stores'
	// auth.KeyStore does), shared by every replica: a browser's
	// EventSource opens /v1/events with a ticket from POST
	// /v1/events/ticket instead of its token. Without it that route is not
	// served and the stream takes the Authorization header only.
	EventKeys auth.KeySource
	// EventKeepalive is how often an idle event stream sends a comment,
	// which keeps proxies from closing it; 25s when 0.
	EventKeepalive time.Duration
}

// Server serves the Relais HTTP API.
type Server struct {
	cfg    Config
	log    *slog.Logger
	router chi.Router
	events *eventHub
	// eventKeys signs event tickets; nil without Config.EventKeys.
	eventKeys   *auth.Keyring
	usedTickets usedTickets
}

// New builds the router.
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger}
	if cfg.EventKeys != nil {
		s.eventKeys = &auth.Keyring{Store: cfg.EventKeys, Purpose: EventTicketPurpose, Now: cfg.Now}
	}
	if cfg.Handoffs != nil {
		s.events = newEventHub(cfg.Handoffs, cfg.Transcripts, EventPollInterval)
	}
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(middleware.ClientIPFromRemoteAddr)
	r.Use(s.logRequests)
	r.Use(s.recoverer)
	r.Use(deadlines(cfg.RequestTimeout))
	s.routeProbes(r)
	s.routeChannels(r)
	s.routeConsole(r)
	r.Route("/v1", s.routeAPI)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, errorf(http.StatusNotFound, "not_found", "no route for %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, errorf(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed on %s", r.Method, r.URL.Path))
	})
	s.router = r
	return s
}

// withDefaults fills in what cfg leaves unset.
func (cfg Config) withDefaults() Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = DefaultClaimTTL
	}
	if cfg.EventKeepalive <= 0 {
		cfg.EventKeepalive = 25 * time.Second
	}
	if cfg.Agents == nil {
		cfg.Agents, _ = cfg.Auth.(Agents)
	}
	return cfg
}

// routeProbes serves what load balancers, scrapers and API clients read:
// health, readiness, metrics and the API's description.
func (s *Server) routeProbes(r chi.Router) {
	r.Get("/healthz", s.healthz)
	r.Get("/openapi.json", serveOpenAPI)
	r.Get("/readyz", s.readyz)
	if !s.cfg.MetricsElsewhere {
		// Open, as Prometheus scrapers expect; MetricsElsewhere keeps it
		// off a public address.
		r.Get("/metrics", s.cfg.Metrics.serve)
	}
}

// routeChannels serves the customer channels that are on, outside the
// bearer-token auth: each checks its own callers (see Config.WhatsApp and
// Config.WebChat).
func (s *Server) routeChannels(r chi.Router) {
	if s.cfg.WhatsApp != nil {
		// GET is Meta's verification, POST its deliveries; the router
		// answers any other method with the API's 405.
		wa := s.cfg.Metrics.timeWebhook(s.cfg.WhatsApp)
		r.Get("/webhooks/whatsapp", wa.ServeHTTP)
		r.Post("/webhooks/whatsapp", wa.ServeHTTP)
	}
	if s.cfg.WebChat != nil {
		r.Handle("/chat", s.cfg.WebChat)
		r.Handle("/chat/*", s.cfg.WebChat)
	}
}

// routeConsole serves the team's console.
func (s *Server) routeConsole(r chi.Router) {
	// A person opening the bare address meets the console, not a JSON 404.
	r.Get("/", http.RedirectHandler(ConsolePath, http.StatusFound).ServeHTTP)
	console := s.consoleHandler()
	r.Handle("/console", console)
	r.Handle("/console/*", console)
}

// routeAPI serves the JSON API under /v1.
func (s *Server) routeAPI(r chi.Router) {
	cfg := s.cfg
	r.With(s.asRole("")...).Post("/messages", s.postMessage)
	r.With(s.asRole("")...).Get("/me", s.whoAmI)
	if cfg.WhatsAppEntry != nil {
		// No token, unlike the rest of /v1: these only show the
		// business's own number, which it prints for anyone to scan,
		// and shops embed the QR code in their pages with an <img>
		// that cannot send one. Their cost is bounded by the text and
		// size limits the handler enforces.
		r.Get("/whatsapp/link", cfg.WhatsAppEntry.ServeHTTP)
		r.Get("/whatsapp/qr.png", cfg.WhatsAppEntry.ServeHTTP)
	}
	if cfg.Conversations != nil {
		r.With(s.asRole("")...).Get("/conversations/{id}/messages", s.listConversationMessages)
	}
	r.Route("/knowledge", s.routeKnowledge)
	if cfg.Customers != nil {
		r.Route("/customers", func(r chi.Router) {
			r.Use(s.asRole(RoleAdmin)...)
			r.Get("/{id}/export", s.exportCustomer)
			r.Delete("/{id}", s.eraseCustomer)
		})
	}
	if cfg.Handoffs != nil {
		s.routeAgentWork(r)
	}
}

// asRole is what stands in front of a route for role: the role check, then
// the request timeout.
func (s *Server) asRole(role Role) chi.Middlewares {
	return chi.Middlewares{s.requireRole(role), middleware.Timeout(s.cfg.RequestTimeout)}
}

// routeKnowledge serves the editors' API under /v1/knowledge.
func (s *Server) routeKnowledge(r chi.Router) {
	cfg := s.cfg
	r.Use(s.requireRole(RoleEditor))
	r.With(deadlines(10*cfg.RequestTimeout), middleware.Timeout(10*cfg.RequestTimeout)).Post("/import", s.importKnowledge)
	r.Group(func(r chi.Router) {
		r.Use(middleware.Timeout(cfg.RequestTimeout))
		r.Get("/articles", s.listArticles)
		r.Post("/articles", s.createArticle)
		r.Get("/articles/{id}", s.getArticle)
		r.Put("/articles/{id}", s.updateArticle)
		r.Delete("/articles/{id}", s.deleteArticle)
		r.Get("/search", s.search)
		if cfg.Drafts != nil {
			r.Get("/drafts", s.listDrafts)
			r.Post("/drafts/{id}/approve", s.approveDraft)
			r.Post("/drafts/{id}/reject", s.rejectDraft)
		}
		if cfg.Insights != nil {
			r.Get("/gaps", s.listGaps)
			r.Get("/dashboard", s.dashboard)
			r.Get("/articles/{id}/stats", s.articleStats)
		}
		if cfg.Examples != nil {
			r.Post("/examples", s.addExamples)
			r.Get("/calibration", s.getCalibration)
		}
		if cfg.Recalibrator != nil {
			r.Post("/calibration", s.recalibrate)
		}
	})
}

// routeAgentWork serves what agents work the handoff queue with: the
// event stream, the tickets, the agents, their reply tools, the media
// customers sent and the agents' presence.
func (s *Server) routeAgentWork(r chi.Router) {
	cfg := s.cfg
	// No request timeout: the stream is long-lived by design.
	r.With(s.eventAuth).Get("/events", s.streamEvents)
	if s.eventKeys != nil {
		r.With(s.asRole(RoleAgent)...).Post("/events/ticket", s.issueEventTicket)
	}
	r.Route("/handoffs", s.routeHandoffs)
	if _, ok := cfg.Agents.(AgentDirectory); ok {
		r.With(s.asRole(RoleAgent)...).Get("/agents", s.listAgents)
	}
	if cfg.Tools != nil {
		s.routeReplyTools(r)
	}
	if cfg.Channels != nil {
		r.With(s.asRole(RoleAgent)...).Get("/media/{id}", s.getMedia)
	}
	if cfg.Presence != nil {
		r.Route("/agents/presence", func(r chi.Router) {
			r.Use(s.asRole(RoleAgent)...)
			r.Get("/", s.listPresence)
			r.Put("/", s.setPresence)
		})
	}
}

// routeHandoffs serves the tickets under /v1/handoffs.
func (s *Server) routeHandoffs(r chi.Router) {
	cfg := s.cfg
	r.Use(s.asRole(RoleAgent)...)
	r.Get("/", s.listHandoffs)
	r.Get("/stats", s.handoffStats)
	r.Get("/{id}/article", s.suggestedArticle)
	r.Post("/claim", s.claimNextHandoff)
	r.Get("/{id}", s.getHandoff)
	r.Post("/{id}/claim", s.claimHandoff)
	r.Post("/{id}/messages", s.replyToHandoff)
	r.Post("/{id}/resolve", s.resolveHandoff)
	r.Post("/{id}/release", s.releaseHandoff)
	if cfg.Agents != nil {
		r.Post("/{id}/reassign", s.reassignHandoff)
	}
	if cfg.History != nil && cfg.Channels != nil {
		r.Get("/{id}/customer", s.customerPanel)
	}
	if cfg.Tools != nil {
		r.Put("/{id}/labels", s.setTicketLabels)
	}
}

// routeReplyTools serves the quick replies and labels: agents read them,
// admins keep them.
func (s *Server) routeReplyTools(r chi.Router) {
	cfg := s.cfg
	r.Route("/quick-replies", func(r chi.Router) {
		r.Use(middleware.Timeout(cfg.RequestTimeout))
		r.With(s.requireRole(RoleAgent)).Get("/", s.listQuickReplies)
		r.With(s.requireRole(RoleAdmin)).Post("/", s.saveQuickReply)
		r.With(s.requireRole(RoleAdmin)).Put("/{id}", s.saveQuickReply)
		r.With(s.requireRole(RoleAdmin)).Delete("/{id}", s.deleteQuickReply)
	})
	r.Route("/labels", func(r chi.Router) {
		r.Use(middleware.Timeout(cfg.RequestTimeout))
		r.With(s.requireRole(RoleAgent)).Get("/", s.listLabels)
		r.With(s.requireRole(RoleAdmin)).Post("/", s.createLabel)
		r.With(s.requireRole(RoleAdmin)).Delete("/{id}", s.deleteLabel)
	})
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz is 200 while the store is reachable, 503 otherwise. Its body
// lists the degraded providers: informative, never a reason for 503 (see
// Config.Degraded).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	degraded := []string{}
	if s.cfg.Degraded != nil {
		degraded = append(degraded, s.cfg.Degraded()...)
	}
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness check failed", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "reason": "store unreachable", "degraded": degraded})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "degraded": degraded})
}

// logRequests logs one line per request: method, route pattern, status and
// duration. The query string is left out on purpose: it carries customer
// text (search queries) that must not reach the logs.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		// The pattern, not the path: paths carry ids (and, for unknown
		// routes, whatever a scanner tries), which would make the metric's
		// labels unbounded.
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		s.cfg.Metrics.requests.Inc(route, strconv.Itoa(ww.Status()/100)+"xx")
		level := slog.LevelInfo
		if ww.Status() >= 500 {
			level = slog.LevelError
		}
		s.log.Log(r.Context(), level, "http request",
			"method", r.Method, "route", route, "status", ww.Status(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"request_id", middleware.GetReqID(r.Context()))
	})
}

// deadlines bounds, through the connection's deadlines, how long a client
// may take to send a request's body (d) and to take its response (2d: the
// handler may use all of d and still has to answer). Without it a client
// sending its body a byte every few seconds held a connection, and a
// goroutine, for as long as it liked (slowloris). http.Server's
// ReadTimeout and WriteTimeout would put one bound on every route, but an
// import needs longer than a JSON call (its route sets its own), and the
// event stream renews its write deadline as it goes.
//
// A request without a body gets no read deadline: as soon as the body is
// read (at once when there is none) net/http watches the connection for
// the client going away, and a read deadline makes that watch fail and
// cancel the request's context, which would end an event stream. With a
// body the read deadline is d, the handler's own timeout, so the watch
// can only end a request whose time is up anyway.
func deadlines(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			now := time.Now()
			if r.ContentLength != 0 { // -1: chunked, of unknown length
				// An error is a writer without deadlines (a test
				// recorder): nothing to bound.
				_ = rc.SetReadDeadline(now.Add(d))
			}
			_ = rc.SetWriteDeadline(now.Add(2 * d))
			next.ServeHTTP(w, r)
		})
	}
}

// recoverer turns a handler panic into a logged 500 with the JSON error body.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "handler panic", "panic", v, "request_id", middleware.GetReqID(r.Context()))
				writeError(w, r, s.log, errorf(http.StatusInternalServerError, "internal", "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// apiError is an error with the status and code the API answers with.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// statusOf is the one table from domain errors to HTTP statuses.
func statusOf(err error) (int, string) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.code
	case errors.Is(err, relais.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, relais.ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, relais.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, conversation.ErrOptedOut):
		return http.StatusConflict, "opted_out"
	case errors.Is(err, conversation.ErrWindowClosed):
		return http.StatusConflict, "window_closed"
	case errors.Is(err, relais.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, relais.ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, relais.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "unavailable"
	default:
		return http.StatusInternalServerError, "internal"
	}
}

// writeError answers with {"error":{"code","message"}}. Server errors are
// logged and their detail kept from the client. Other errors reach the
// client as they read, so they must be worded for one: the stores keep
// their drivers' text out of them (relais.Classify).
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, code := statusOf(err)
	msg := err.Error()
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "error", err, "request_id", middleware.GetReqID(r.Context()))
		switch status {
		case http.StatusServiceUnavailable:
			msg = "a service Relais depends on is unavailable; try again shortly"
		default:
			msg = "internal error (request id " + middleware.GetReqID(r.Context()) + ")"
		}
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}

// bodyTimeout is the error for a body that did not arrive in time: the
// connection's read deadline (see deadlines) passed.
func bodyTimeout() error {
	return errorf(http.StatusRequestTimeout, "request_timeout", "the request body did not arrive in time")
}

// decodeJSON reads one JSON object of at most limit bytes, refusing unknown
// fields so that a misspelt field is an error rather than silently ignored.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	return decodeStrict(http.MaxBytesReader(w, r.Body, limit), v, limit)
}

// decodeOptionalJSON is decodeJSON for a body that may be left out: an
// empty body leaves v as it is.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "too_large", "body is larger than %d bytes", limit)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return bodyTimeout()
		}
		return fmt.Errorf("read body: %v: %w", err, relais.ErrInvalid)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	return decodeStrict(bytes.NewReader(raw), v, limit)
}

// decodeStrict decodes exactly one JSON value from body into v; limit is
// the bound body enforces, for the error's message.
func decodeStrict(body io.Reader, v any, limit int64) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "too_large", "body is larger than %d bytes", limit)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return bodyTimeout()
		}
		return fmt.Errorf("malformed JSON body: %v: %w", err, relais.ErrInvalid)
	}
	if dec.More() {
		return fmt.Errorf("malformed JSON body: more than one value: %w", relais.ErrInvalid)
	}
	return nil
}
