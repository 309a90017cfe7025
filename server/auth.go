package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/auth"
)

// Role is what a token allows. Admin can do everything, editors manage
// knowledge, agents work the handoff queue.
type Role = auth.Role

// Roles.
const (
	RoleAgent  = auth.Agent
	RoleEditor = auth.Editor
	RoleAdmin  = auth.Admin
)

// Principal is an authenticated caller.
type Principal struct {
	Name string
	Role Role
}

// Authenticator resolves a bearer token to a principal. It returns an error
// wrapping relais.ErrUnauthorized for an unknown token.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// StaticToken authenticates one configured admin token (RELAIS_ADMIN_TOKEN).
// The comparison runs on SHA-256 digests in constant time, so neither the
// token's content nor its length leaks through timing.
type StaticToken struct {
	digest auth.Digest
	set    bool
}

// NewStaticToken returns an authenticator for token; an empty token accepts
// nobody.
func NewStaticToken(token string) *StaticToken {
	if token == "" {
		return &StaticToken{}
	}
	return &StaticToken{digest: auth.DigestOf(token), set: true}
}

// StaticAdminName is the principal name of the configured admin token,
// which has no stored name of its own: the agent id it works tickets as.
const StaticAdminName = "admin"

// Authenticate implements Authenticator.
func (s *StaticToken) Authenticate(_ context.Context, token string) (Principal, error) {
	d := auth.DigestOf(token)
	if s.set && subtle.ConstantTimeCompare(d[:], s.digest[:]) == 1 {
		return Principal{Name: StaticAdminName, Role: RoleAdmin}, nil
	}
	return Principal{}, fmt.Errorf("unknown token: %w", relais.ErrUnauthorized)
}

// FindAgent implements Agents: while the token is configured, somebody
// signs in as StaticAdminName with it.
func (s *StaticToken) FindAgent(_ context.Context, id string) error {
	if s.set && id == StaticAdminName {
		return nil
	}
	return &auth.UnknownAgentError{Name: id}
}

// Agents tells whether an agent id names somebody who can sign in to work
// the handoff queue, so that a ticket is never handed to a name nobody
// holds: its customer would wait in silence until the claim expired.
type Agents interface {
	// FindAgent returns nil when somebody can sign in as agent id, and an
	// *auth.UnknownAgentError (relais.ErrNotFound) when nobody can.
	FindAgent(ctx context.Context, id string) error
}

type principalKey struct{}

// PrincipalFrom returns the authenticated caller of a request.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// requireRole authenticates the bearer token and checks its role.
func (s *Server) requireRole(need Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := r.Header.Get("Authorization")
			token, ok := strings.CutPrefix(h, "Bearer ")
			token = strings.TrimSpace(token)
			if !ok || token == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="relais"`)
				writeError(w, r, s.log, errorf(http.StatusUnauthorized, "unauthorized", "missing bearer token: send Authorization: Bearer <token>"))
				return
			}
			if s.cfg.Auth == nil {
				writeError(w, r, s.log, errorf(http.StatusUnauthorized, "unauthorized", "no tokens are configured: set RELAIS_ADMIN_TOKEN"))
				return
			}
			p, err := s.cfg.Auth.Authenticate(r.Context(), token)
			if err != nil && !errors.Is(err, relais.ErrUnauthorized) {
				// The token store is down: telling a valid caller their
				// token is wrong would send them chasing the wrong problem.
				writeError(w, r, s.log, err)
				return
			}
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="relais", error="invalid_token"`)
				writeError(w, r, s.log, errorf(http.StatusUnauthorized, "unauthorized", "invalid token"))
				return
			}
			if !p.Role.Allows(need) {
				writeError(w, r, s.log, errorf(http.StatusForbidden, "forbidden", "this needs the %s role; the token has %s", need, p.Role))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

// TokenLookup finds stored tokens by digest, and by name to tell who can
// work the queue (auth.Store has both).
type TokenLookup interface {
	TokenByDigest(ctx context.Context, d auth.Digest) (auth.Token, error)
	auth.NamedTokens
}

// StoredTokens authenticates the tokens `relais token create` issued. The
// token is looked up by its SHA-256 digest, so no comparison of secrets
// happens at all; the principal's name is the token's name, which is the
// agent id of an agent.
type StoredTokens struct{ Tokens TokenLookup }

// Authenticate implements Authenticator. An unknown or revoked token is
// relais.ErrUnauthorized; a store failure is returned as it is.
func (s StoredTokens) Authenticate(ctx context.Context, token string) (Principal, error) {
	t, err := s.Tokens.TokenByDigest(ctx, auth.DigestOf(token))
	if errors.Is(err, relais.ErrNotFound) {
		return Principal{}, fmt.Errorf("unknown token: %w", relais.ErrUnauthorized)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return Principal{Name: t.Name, Role: t.Role}, nil
}

// FindAgent implements Agents with auth.FindAgent: an unrevoked agent or
// admin token carries the name.
func (s StoredTokens) FindAgent(ctx context.Context, id string) error {
	return auth.FindAgent(ctx, s.Tokens, id)
}

// FirstOf tries authenticators in order and takes the first that knows the
// token. Any other failure than an unknown token stops the search: a
// token store that is down must not look like a wrong token.
type FirstOf []Authenticator

// Authenticate implements Authenticator.
func (f FirstOf) Authenticate(ctx context.Context, token string) (Principal, error) {
	for _, a := range f {
		p, err := a.Authenticate(ctx, token)
		if err == nil || !errors.Is(err, relais.ErrUnauthorized) {
			return p, err
		}
	}
	return Principal{}, fmt.Errorf("unknown token: %w", relais.ErrUnauthorized)
}

// FindAgent implements Agents: the agent is known when one of the
// authenticators that keep agents knows it. Any other failure than an
// unknown agent stops the search, as in Authenticate.
func (f FirstOf) FindAgent(ctx context.Context, id string) error {
	for _, a := range f {
		dir, ok := a.(Agents)
		if !ok {
			continue
		}
		err := dir.FindAgent(ctx, id)
		if err == nil || !errors.Is(err, relais.ErrNotFound) {
			return err
		}
	}
	return &auth.UnknownAgentError{Name: id}
}

// AgentDirectory lists who a ticket can be reassigned to: everybody
// Agents.FindAgent accepts.
type AgentDirectory interface {
	// KnownAgents lists the agent ids somebody can sign in as, sorted.
	KnownAgents(ctx context.Context) ([]string, error)
}

// KnownAgents implements AgentDirectory: StaticAdminName while the token
// is configured.
func (s *StaticToken) KnownAgents(context.Context) ([]string, error) {
	if s.set {
		return []string{StaticAdminName}, nil
	}
	return nil, nil
}

// KnownAgents implements AgentDirectory with auth.AgentNames when the
// token store can list its tokens.
func (s StoredTokens) KnownAgents(ctx context.Context) ([]string, error) {
	lt, ok := s.Tokens.(auth.ListedTokens)
	if !ok {
		return nil, nil
	}
	return auth.AgentNames(ctx, lt)
}

// KnownAgents implements AgentDirectory: the agents every authenticator
// that lists them knows, sorted, once each.
func (f FirstOf) KnownAgents(ctx context.Context) ([]string, error) {
	var out []string
	for _, a := range f {
		dir, ok := a.(AgentDirectory)
		if !ok {
			continue
		}
		names, err := dir.KnownAgents(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, names...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
