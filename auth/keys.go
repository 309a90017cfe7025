package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/relais-ai/relais"
)

// Signing keys are the secrets Relais signs with what it hands to browsers
// (the web chat's session cookie): HMAC keys that every replica must share
// and that must outlive a restart, so they live in the store, one series of
// generations per purpose. The newest generation signs; older ones still
// verify until their grace period ends, so that rotating a key does not
// sign every customer out at once.

// SigningKeyBytes is the size of a generated key: 256 bits, as HMAC-SHA256
// wants (RFC 2104: at least the hash's output size).
const SigningKeyBytes = 32

// MaxPurposeLen bounds a key's purpose.
const MaxPurposeLen = 64

// SigningKey is one generation of a purpose's key.
type SigningKey struct {
	Purpose    string
	Generation int // 1 for the first key, then one more per rotation
	// Secret is the key itself: never log it.
	Secret    []byte
	CreatedAt time.Time
	// ExpiresAt is when the key stops verifying; zero while it does not
	// expire (the newest key never does).
	ExpiresAt time.Time
}

// KeyStore keeps signing keys.
type KeyStore interface {
	// EnsureSigningKey stores secret as generation 1 of purpose unless
	// purpose has a key already, and returns the newest key of purpose.
	// Safe to race: replicas starting together on one database all get the
	// same key. relais.ErrInvalid when ValidateSigningKey refuses the
	// arguments.
	EnsureSigningKey(ctx context.Context, purpose string, secret []byte) (SigningKey, error)
	// RotateSigningKey stores secret as purpose's next generation and sets
	// every older key of purpose to expire grace from now (keeping an
	// earlier expiry), and returns the new key. relais.ErrInvalid as
	// EnsureSigningKey, or for a negative grace; relais.ErrConflict when
	// another rotation of purpose stored the same generation first (try
	// again).
	RotateSigningKey(ctx context.Context, purpose string, secret []byte, grace time.Duration) (SigningKey, error)
	// SigningKeys lists the keys of purpose that have not expired by the
	// store's clock, newest first; none is an empty list.
	SigningKeys(ctx context.Context, purpose string) ([]SigningKey, error)
}

// NewSigningSecret returns a fresh random key of SigningKeyBytes bytes.
func NewSigningSecret() []byte {
	b := make([]byte, SigningKeyBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}

// ValidateSigningKey checks a key's purpose and secret before a store keeps
// them; the error wraps relais.ErrInvalid. The purpose is a short name such
// as "webchat-session", without spaces or control characters; the secret
// is at least SigningKeyBytes bytes.
func ValidateSigningKey(purpose string, secret []byte) error {
	switch {
	case purpose == "":
		return fmt.Errorf("signing key without a purpose: %w", relais.ErrInvalid)
	case len(purpose) > MaxPurposeLen:
		return fmt.Errorf("signing key purpose longer than %d bytes: %w", MaxPurposeLen, relais.ErrInvalid)
	case strings.IndexFunc(purpose, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Errorf("signing key purpose %q has spaces or control characters: %w", purpose, relais.ErrInvalid)
	case len(secret) < SigningKeyBytes:
		return fmt.Errorf("signing key of %d bytes: at least %d are needed: %w", len(secret), SigningKeyBytes, relais.ErrInvalid)
	}
	return nil
}

// ValidateRotation checks a rotation's new key as ValidateSigningKey does,
// and its grace: how long the older keys still verify, which must not be
// negative (0 ends them at once).
func ValidateRotation(purpose string, secret []byte, grace time.Duration) error {
	if err := ValidateSigningKey(purpose, secret); err != nil {
		return err
	}
	if grace < 0 {
		return fmt.Errorf("grace %v is negative: %w", grace, relais.ErrInvalid)
	}
	return nil
}
