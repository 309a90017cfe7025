// Package webchat is the web chat channel: a chat page (/chat) a customer
// talks to the assistant on, the script a shop adds to its site to show it
// as a chat bubble (/chat/widget.js), the JSON and Server-Sent Events
// endpoints the page calls, and the channel's outbox Sender.
//
// A customer is anonymous: an HMAC-signed, HttpOnly, SameSite=Lax cookie
// carries a random session id (the conversation's customer id) and, once
// they wrote, their conversation's id. The key that signs it is kept in the
// store (auth.KeyStore), shared by every replica and rotated with a grace
// period. The page's files are embedded: no build step, nothing fetched
// from elsewhere, and a strict Content-Security-Policy.
package webchat

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"golang.org/x/text/language"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/knowledge"
)

// Channel is the channel name web chat conversations carry in Relais.
const Channel = "webchat"

// KeyPurpose names the session cookie's signing keys in the KeyStore.
const KeyPurpose = "webchat-session"

// Messages runs a customer message through the assistant
// (assistant.Service implements it).
type Messages interface {
	HandleMessage(ctx context.Context, in conversation.Inbound) (assistant.Outcome, error)
}

// Transcripts reads a conversation back (conversation.Store implements it).
// Errors are the store's: relais.ErrNotFound for an unknown conversation.
type Transcripts interface {
	Conversation(ctx context.Context, id int64) (conversation.Conversation, error)
	Messages(ctx context.Context, conversationID int64, limit int) ([]conversation.Message, error)
	Decisions(ctx context.Context, conversationID int64) ([]conversation.DecisionRecord, error)
}

// Articles finds the title of an answer's cited article
// (knowledge.Store implements it).
type Articles interface {
	ArticleByExternalID(ctx context.Context, externalID string) (knowledge.Article, error)
}

// KeyStore keeps the session cookie's signing keys (both stores implement
// it): EnsureSigningKey and SigningKeys of auth.KeyStore.
type KeyStore interface {
	EnsureSigningKey(ctx context.Context, purpose string, secret []byte) (auth.SigningKey, error)
	SigningKeys(ctx context.Context, purpose string) ([]auth.SigningKey, error)
}

// Defaults of the Handler's zero fields.
const (
	// DefaultSessionMessages is how many messages a session may send per
	// minute: a person typing does not reach it; a script does.
	DefaultSessionMessages = 20
	// DefaultIPMessages is how many messages one address may send per
	// minute, all sessions together: a shop's wifi or an office behind
	// one address holds several customers.
	DefaultIPMessages = 60
	// DefaultIPReads is how many reads (transcripts, event streams) one
	// address may make per minute.
	DefaultIPReads = 240
	// DefaultPollInterval is how often an open event stream looks for new
	// messages: an agent's reply shows within about a second.
	DefaultPollInterval = time.Second
	// DefaultStreamLifetime bounds one event stream; the page reconnects
	// on its own, resuming after the last message it has.
	DefaultStreamLifetime = 5 * time.Minute
	// DefaultKeepalive is how often an idle stream sends a comment, which
	// keeps proxies from closing it.
	DefaultKeepalive = 25 * time.Second
	// DefaultSessionMaxAge is how long a session lasts without a visit:
	// each visit renews it.
	DefaultSessionMaxAge = 30 * 24 * time.Hour
	// DefaultHandleTimeout bounds answering one message, like an API
	// request's deadline.
	DefaultHandleTimeout = 30 * time.Second
)

// MaxTranscript is how many of a conversation's latest messages the page
// shows, and the most an event stream sends when it resumes.
const MaxTranscript = 200

// Handler serves /chat and everything under it. Set its fields before the
// first request; it is safe for concurrent use after that.
type Handler struct {
	Messages    Messages
	Transcripts Transcripts
	Articles    Articles // optional: without it no source title is shown on reload
	Keys        KeyStore
	Logger      *slog.Logger // nil discards
	// FrameAncestors are the origins (https://shop.example) whose pages may
	// show /chat in a frame, as the widget does; besides Relais's own.
	FrameAncestors []string
	// Rate limits per minute; the Default* values when zero.
	SessionMessages, IPMessages, IPReads int
	PollInterval                         time.Duration
	StreamLifetime                       time.Duration
	Keepalive                            time.Duration
	SessionMaxAge                        time.Duration
	HandleTimeout                        time.Duration
	Now                                  func() time.Time // time.Now when nil

	once       sync.Once
	router     chi.Router
	keys       *auth.Keyring
	page       *template.Template
	sessionLim *httprate.RateLimiter
	ipLim      *httprate.RateLimiter
	csp        string
}

//go:embed files
var files embed.FS

// strings.json holds the page's words in every language it speaks.
//
//go:embed files/strings.json
var stringsJSON []byte

var (
	languages = []language.Tag{language.English, language.French}
	matcher   = language.NewMatcher(languages)
	texts     = mustTexts()
)

func mustTexts() map[string]map[string]string {
	var t map[string]map[string]string
	if err := json.Unmarshal(stringsJSON, &t); err != nil {
		panic(fmt.Sprintf("webchat: files/strings.json: %v", err)) // embedded at build time
	}
	for _, tag := range languages {
		base, _ := tag.Base()
		if len(t[base.String()]) != len(t["en"]) {
			panic(fmt.Sprintf("webchat: files/strings.json: %s does not have every key en has", base))
		}
	}
	return t
}

// lang is the page's language: ?lang= when it names one the page speaks,
// else the best match of Accept-Language, else English.
func lang(r *http.Request) string {
	tag, _ := language.MatchStrings(matcher, r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	base, _ := tag.Base()
	if _, ok := texts[base.String()]; ok {
		return base.String()
	}
	return "en"
}

func (h *Handler) init() {
	h.once.Do(func() {
		h.keys = &auth.Keyring{Store: h.Keys, Purpose: KeyPurpose, Now: h.now}
		h.page = template.Must(template.ParseFS(files, "files/chat.html"))
		onLimit := httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusTooManyRequests, "rate_limited", "too many messages; wait a minute and try again")
		})
		h.sessionLim = httprate.NewRateLimiter(cmp.Or(h.SessionMessages, DefaultSessionMessages), time.Minute, onLimit)
		h.ipLim = httprate.NewRateLimiter(cmp.Or(h.IPMessages, DefaultIPMessages), time.Minute, onLimit)
		ancestors := append([]string{"'self'"}, h.FrameAncestors...)
		h.csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
			"base-uri 'none'; form-action 'none'; frame-ancestors " + strings.Join(ancestors, " ")

		static, err := fs.Sub(files, "files/static")
		if err != nil {
			panic(err) // embedded at build time
		}
		r := chi.NewRouter()
		r.Get("/chat", h.servePage)
		r.Get("/chat/", h.servePage)
		r.Get("/chat/widget.js", h.serveWidget)
		r.Handle("/chat/static/*", http.StripPrefix("/chat/static/", http.FileServerFS(static)))
		r.Group(func(r chi.Router) {
			r.Use(httprate.LimitBy(cmp.Or(h.IPReads, DefaultIPReads), time.Minute, clientIP, onLimit))
			r.Get("/chat/api/messages", h.transcript)
			r.Get("/chat/api/events", h.events)
		})
		r.Post("/chat/api/messages", h.postMessage)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "not_found", "no such page")
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here")
		})
		h.router = r
	})
}

// Start creates the session key when the store has none yet, so that the
// first start of Relais, not the first customer, makes it; several
// replicas starting at once agree on one key.
func (h *Handler) Start(ctx context.Context) error {
	h.init()
	_, err := h.keys.Load(ctx, true)
	return err
}

// Routes are the handler's routes, for the test of the API's description
// to walk.
func (h *Handler) Routes() chi.Routes {
	h.init()
	return h.router
}

// ServeHTTP serves the page, the widget, their files and the page's API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.init()
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.router.ServeHTTP(w, r)
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	l := lang(r)
	strs, _ := json.Marshal(texts[l]) // a map of strings always marshals
	w.Header().Set("Content-Security-Policy", h.csp)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Vary", "Accept-Language")
	err := h.page.Execute(w, map[string]any{
		"Lang": l, "T": texts[l], "Strings": string(strs), "Embedded": r.URL.Query().Get("embed") == "1",
	})
	if err != nil {
		h.logger().WarnContext(r.Context(), "webchat: write the page", "error", err)
	}
}

func (h *Handler) serveWidget(w http.ResponseWriter, r *http.Request) {
	b, err := files.ReadFile("files/widget.js")
	if err != nil {
		panic(err) // embedded at build time
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	// Shops embed it from their pages: short caching, so a new version
	// reaches them within the hour.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	_, _ = w.Write(b)
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// clientIP is the rate limits' key for an address: the one chi's
// ClientIPFrom* middleware resolved (the server says whom it trusts), else
// the connection's; IPv6 by /64.
func clientIP(r *http.Request) (string, error) {
	ip := middleware.GetClientIP(r.Context())
	if ip == "" {
		return httprate.KeyByIP(r)
	}
	return httprate.CanonicalizeIP(ip), nil
}

// writeError answers {"error":{"code","message"}}, as the rest of Relais.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client went away; nothing to do
}

// statusOf maps a domain error to the page's status and code.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, relais.ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, relais.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, relais.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, relais.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, relais.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "unavailable"
	default:
		return http.StatusInternalServerError, "internal"
	}
}
