package auth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// KeySource is what a Keyring needs of a KeyStore: the keys of a purpose,
// and the first one made when there is none.
type KeySource interface {
	EnsureSigningKey(ctx context.Context, purpose string, secret []byte) (SigningKey, error)
	SigningKeys(ctx context.Context, purpose string) ([]SigningKey, error)
}

// KeyRefresh is how long a Keyring uses the keys it read before it reads
// them again: a rotation reaches every replica within it. A value signed
// by a generation newer than any known is a sign of a rotation, and
// reloads sooner (Load with force), at most once per KeyRetry.
const (
	KeyRefresh = time.Minute
	KeyRetry   = 5 * time.Second
)

// Keyring caches one purpose's signing keys of a store, newest first, so
// that signing and verifying cost no query while every replica still
// signs with the keys all of them share. Its zero value is not usable:
// set Store and Purpose. Safe for concurrent use.
type Keyring struct {
	Store   KeySource
	Purpose string
	Now     func() time.Time // time.Now when nil

	mu     sync.Mutex
	keys   []SigningKey
	loaded time.Time
}

func (k *Keyring) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// Load returns the keys, read again from the store when they are older
// than KeyRefresh, or KeyRetry when force is set (the ones held when the
// store cannot be read). A store without a key of the purpose gets one
// (EnsureSigningKey), so the first caller of any replica makes it and the
// others read it.
func (k *Keyring) Load(ctx context.Context, force bool) ([]SigningKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	age := k.now().Sub(k.loaded)
	if len(k.keys) > 0 && (age < KeyRetry || (!force && age < KeyRefresh)) {
		return k.keys, nil
	}
	keys, err := k.Store.SigningKeys(ctx, k.Purpose)
	if err != nil && len(k.keys) > 0 {
		// The keys held still sign and verify: a store that does not
		// answer for a moment delays a rotation, not the people using
		// what they sign. It is asked again after KeyRetry, not on every
		// request.
		k.loaded = k.now().Add(KeyRetry - KeyRefresh)
		return k.keys, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the %s signing keys: %w", k.Purpose, err)
	}
	if len(keys) == 0 {
		key, err := k.Store.EnsureSigningKey(ctx, k.Purpose, NewSigningSecret())
		if err != nil {
			return nil, fmt.Errorf("create the %s signing key: %w", k.Purpose, err)
		}
		keys = []SigningKey{key}
	}
	k.keys, k.loaded = keys, k.now()
	return keys, nil
}

// MayBeNewer reports whether generation is newer than the newest key held:
// what it signed may verify once the keys are loaded again.
func (k *Keyring) MayBeNewer(generation int) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys) > 0 && generation > k.keys[0].Generation
}

// Find returns the key of generation among keys, or false.
func Find(keys []SigningKey, generation int) (SigningKey, bool) {
	for _, k := range keys {
		if k.Generation == generation {
			return k, true
		}
	}
	return SigningKey{}, false
}
