package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/channel/webchat"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

// Stand-ins that only make the optional routes register; no request
// reaches them.
type (
	anyConversations struct{ ConversationReader }
	anyTranscripts   struct{ Transcripts }
	anyChannels      struct{ ChannelState }
	anyPersonalData  struct{ conversation.PersonalData }
	anyInsights      struct{ conversation.Insights }
	anyExamples      struct{ ExampleStore }
	anyKeys          struct{ auth.KeySource }
	anyHistory       struct{ history }
	anyTools         struct{ handoff.ReplyTools }
	history          = handoff.CustomerHistory
)

// everyRoute builds a server with every optional feature on.
func everyRoute(t *testing.T) *Server {
	t.Helper()
	return New(Config{
		Auth: NewStaticToken(testToken), Handoffs: noTickets{}, Transcripts: anyTranscripts{},
		Conversations: anyConversations{}, Channels: anyChannels{}, Customers: anyPersonalData{},
		Insights: anyInsights{}, Examples: anyExamples{}, Recalibrator: &fakeRecalibrator{},
		Drafts: &handoff.Review{}, Agents: agentList{"a"}, Presence: noPresence{}, EventKeys: anyKeys{},
		History: anyHistory{}, Tools: anyTools{},
		WhatsApp: http.NotFoundHandler(), WhatsAppEntry: http.NotFoundHandler(), WebChat: &webchat.Handler{},
	})
}

type agentList []string

func (l agentList) FindAgent(ctx context.Context, id string) error { return nil }

func (l agentList) KnownAgents(ctx context.Context) ([]string, error) { return l, nil }

// route is one method on one path, its trailing slash dropped: chi names
// a group's root "/v1/handoffs/", which answers as "/v1/handoffs" too.
type route struct{ method, path string }

func normalise(method, path string) route {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return route{strings.ToUpper(method), path}
}

// served walks the router, and the web chat's own router where it is
// mounted. Static file trees ("/*" patterns) are left out: OpenAPI has no
// wildcard paths, and what they serve is files, not API. A route mounted
// for every method (the console's page) counts as its GET.
func served(t *testing.T, s *Server) map[route]bool {
	t.Helper()
	byPath := map[string][]string{}
	walk := func(r chi.Routes, skip ...string) {
		err := chi.Walk(r, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			if !slices.Contains(skip, pattern) {
				byPath[pattern] = append(byPath[pattern], method)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	walk(s.router, "/chat", "/chat/*")
	walk(new(webchat.Handler).Routes())
	staticTrees := []string{"/console/*", "/chat/static/*"}
	out := map[route]bool{}
	for path, methods := range byPath {
		if strings.HasSuffix(path, "/*") {
			if !slices.Contains(staticTrees, path) {
				t.Errorf("%s is a wildcard route that is not a known static file tree: describe what it serves", path)
			}
			continue
		}
		if len(methods) >= 9 { // r.Handle: every method
			methods = []string{http.MethodGet}
		}
		for _, m := range methods {
			out[normalise(m, path)] = true
		}
	}
	return out
}

// TestOpenAPIMatchesRoutes: every route the server serves is in
// /openapi.json, and every operation there is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	s := everyRoute(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	described := map[route]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				described[normalise(method, path)] = true
			case "parameters", "summary", "description", "servers":
			default:
				t.Errorf("%s: %q is no operation", path, method)
			}
		}
	}
	routes := served(t, s)
	if len(routes) < 30 {
		t.Fatalf("walked only %d routes: the walk is broken", len(routes))
	}
	for r := range routes {
		if !described[r] {
			t.Errorf("%s %s is served but not described in openapi.json", r.method, r.path)
		}
	}
	for r := range described {
		if !routes[r] {
			t.Errorf("%s %s is described in openapi.json but not served", r.method, r.path)
		}
	}
}

// TestOpenAPIServed: the description is served as JSON to anyone.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(everyRoute(t))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &v) != nil {
		t.Fatalf("GET /openapi.json: %d %s %.100q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if v["paths"] == nil {
		t.Error("no paths in the served description")
	}
}

type noPresence struct{}

func (noPresence) SetPresence(context.Context, string, handoff.PresenceStatus) (handoff.Presence, error) {
	return handoff.Presence{}, nil
}

func (noPresence) Presences(context.Context, time.Time) ([]handoff.Presence, error) { return nil, nil }
