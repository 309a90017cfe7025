// Package auth owns the API tokens people and scripts call Relais with:
// their roles, how a token is generated and hashed, and the Store that keeps
// them. Only a token's SHA-256 digest is ever stored; the token itself is
// shown once, when it is created, and is never logged.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/relais-ai/relais"
)

// Role is what a token allows.
type Role string

// Roles. Admin can do everything; editors manage the knowledge base; agents
// work the handoff queue. Any valid token may post customer messages.
const (
	Agent  Role = "agent"
	Editor Role = "editor"
	Admin  Role = "admin"
)

// ParseRole returns the role named s; the error wraps relais.ErrInvalid and
// lists the accepted names.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case Agent, Editor, Admin:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want agent, editor or admin: %w", s, relais.ErrInvalid)
}

// Allows reports whether a caller of role r may act as need; an empty need
// is any authenticated caller.
func (r Role) Allows(need Role) bool {
	return need == "" || r == Admin || r == need
}

// Digest is the SHA-256 of a token: what is stored and looked up. Since the
// lookup is by digest, an attacker timing it learns about digests, which
// say nothing about other tokens.
type Digest [sha256.Size]byte

// DigestOf returns the digest of token.
func DigestOf(token string) Digest { return sha256.Sum256([]byte(token)) }

// Prefix starts every generated token, so that secret scanners and people
// reading a config file can tell a Relais token at a glance.
const Prefix = "relais_"

// secretBytes is the token's randomness: 256 bits, beyond guessing.
const secretBytes = 32

// NewSecret returns a fresh random token and its digest.
func NewSecret() (string, Digest) {
	var b [secretBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	token := Prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, DigestOf(token)
}

// MaxNameLen bounds a token's name. The name is the agent id of an agent
// token, so it shows in transcripts and histories.
const MaxNameLen = 128

// Token is a stored token, without the secret.
type Token struct {
	ID   int64
	Name string // who holds it; for an agent token, the agent id
	Role Role
	// CreatedAt is when it was issued; RevokedAt when it stopped working,
	// zero while it works.
	CreatedAt time.Time
	RevokedAt time.Time
}

// Revoked reports whether the token no longer authenticates anyone.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// Store keeps tokens by digest.
type Store interface {
	// CreateToken stores a token of name and role whose digest is d, and
	// returns it with ID and CreatedAt set. relais.ErrInvalid when name or
	// role break ValidateNew; relais.ErrConflict when d is already stored
	// (which a random token never is).
	CreateToken(ctx context.Context, name string, role Role, d Digest) (Token, error)
	// TokenByDigest returns the unrevoked token whose digest is d;
	// relais.ErrNotFound when there is none (unknown or revoked).
	TokenByDigest(ctx context.Context, d Digest) (Token, error)
	// Tokens lists every token, revoked ones included, oldest first.
	Tokens(ctx context.Context) ([]Token, error)
	// ActiveTokensNamed lists the unrevoked tokens of name, oldest first;
	// none is an empty list, not an error. A token's name is the agent id
	// of its holder, so this tells an agent who can sign in from a typo
	// (see FindAgent).
	ActiveTokensNamed(ctx context.Context, name string) ([]Token, error)
	// RevokeToken stops token id from working and returns it.
	// relais.ErrNotFound when there is no such token; revoking a revoked
	// token changes nothing and is not an error.
	RevokeToken(ctx context.Context, id int64) (Token, error)
}

// ValidateNew checks the name and role of a new token; the error wraps
// relais.ErrInvalid. A name with surrounding spaces is refused rather than
// trimmed: it is an agent id, and two spellings of one id would be two
// agents. A name with a control character is refused too.
func ValidateNew(name string, role Role) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("token without a name: %w", relais.ErrInvalid)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("token name longer than %d bytes: %w", MaxNameLen, relais.ErrInvalid)
	}
	if name != strings.TrimSpace(name) {
		return fmt.Errorf("token name %q has leading or trailing spaces: %w", name, relais.ErrInvalid)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		// PostgreSQL refuses a NUL where the embedded store would keep it,
		// and the name shows in consoles and transcripts.
		return fmt.Errorf("token name %q has control characters: %w", name, relais.ErrInvalid)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return nil
}

// NamedTokens is what FindAgent needs of a Store.
type NamedTokens interface {
	ActiveTokensNamed(ctx context.Context, name string) ([]Token, error)
}

// FindAgent returns nil when somebody can sign in as agent id name to work
// the handoff queue: when an unrevoked token of that name has a role that
// allows agent work (agent, or admin: a supervisor takes tickets too). The
// error is an *UnknownAgentError otherwise: a ticket handed to a name nobody signs in with would wait in
// silence until its claim expired.
func FindAgent(ctx context.Context, st NamedTokens, name string) error {
	ts, err := st.ActiveTokensNamed(ctx, name)
	if err != nil {
		return fmt.Errorf("find agent %q: %w", name, err)
	}
	for _, t := range ts {
		if t.Role.Allows(Agent) {
			return nil
		}
	}
	return &UnknownAgentError{Name: name}
}

// UnknownAgentError is FindAgent's error when nobody can sign in as agent
// Name. It is relais.ErrNotFound, and its message says how to create the
// agent, for the person who typed the name.
type UnknownAgentError struct{ Name string }

func (e *UnknownAgentError) Error() string {
	return fmt.Sprintf("no agent named %q: create one with relais token create --role agent --name %q", e.Name, e.Name)
}

// Unwrap makes errors.Is(err, relais.ErrNotFound) hold.
func (e *UnknownAgentError) Unwrap() error { return relais.ErrNotFound }

// Issue creates a token of name and role in st and returns the secret, to
// be shown once, with the stored token.
func Issue(ctx context.Context, st Store, name string, role Role) (string, Token, error) {
	if err := ValidateNew(name, role); err != nil {
		return "", Token{}, fmt.Errorf("issue token: %w", err)
	}
	secret, d := NewSecret()
	t, err := st.CreateToken(ctx, name, role, d)
	if err != nil {
		return "", Token{}, fmt.Errorf("issue token %q: %w", name, err)
	}
	return secret, t, nil
}

// ListedTokens is what AgentNames needs of a Store.
type ListedTokens interface {
	Tokens(ctx context.Context) ([]Token, error)
}

// AgentNames lists, sorted and once each, the names somebody can sign in
// as to work the handoff queue: FindAgent's rule, over every token. It is
// the list a ticket can be reassigned to.
func AgentNames(ctx context.Context, st ListedTokens) ([]string, error) {
	ts, err := st.Tokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	var names []string
	for _, t := range ts {
		if !t.Revoked() && t.Role.Allows(Agent) {
			names = append(names, t.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
