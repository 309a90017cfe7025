package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"relais"
)

// Role is what a token allows. Admin can do everything, editors manage
// knowledge, agents work the handoff queue.
type Role string

// Roles.
const (
	RoleAgent  Role = "agent"
	RoleEditor Role = "editor"
	RoleAdmin  Role = "admin"
)

// allows reports whether a principal of role r may act as need; an empty
// need is any authenticated caller.
func (r Role) allows(need Role) bool {
	return need == "" || r == RoleAdmin || r == need
}

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
	digest [32]byte
	set    bool
}

// NewStaticToken returns an authenticator for token; an empty token accepts
// nobody.
func NewStaticToken(token string) *StaticToken {
	if token == "" {
		return &StaticToken{}
	}
	return &StaticToken{digest: sha256.Sum256([]byte(token)), set: true}
}

// Authenticate implements Authenticator.
func (s *StaticToken) Authenticate(_ context.Context, token string) (Principal, error) {
	d := sha256.Sum256([]byte(token))
	if s.set && subtle.ConstantTimeCompare(d[:], s.digest[:]) == 1 {
		return Principal{Name: "admin", Role: RoleAdmin}, nil
	}
	return Principal{}, fmt.Errorf("unknown token: %w", relais.ErrUnauthorized)
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
			if !ok || strings.TrimSpace(token) == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="relais"`)
				writeError(w, r, s.log, errorf(http.StatusUnauthorized, "unauthorized", "missing bearer token: send Authorization: Bearer <token>"))
				return
			}
			if s.cfg.Auth == nil {
				writeError(w, r, s.log, errorf(http.StatusUnauthorized, "unauthorized", "no tokens are configured: set RELAIS_ADMIN_TOKEN"))
				return
			}
			p, err := s.cfg.Auth.Authenticate(r.Context(), strings.TrimSpace(token))
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="relais", error="invalid_token"`)
				writeError(w, r, s.log, errorf(http.StatusUnauthorized, "unauthorized", "invalid token"))
				return
			}
			if !p.Role.allows(need) {
				writeError(w, r, s.log, errorf(http.StatusForbidden, "forbidden", "this needs the %s role; the token has %s", need, p.Role))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}
