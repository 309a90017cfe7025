package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// memKeys keeps one purpose's keys in memory; SigningKeys fails once
// failing is set.
type memKeys struct {
	mu      sync.Mutex
	keys    []SigningKey
	failing bool
	reads   int
}

func (m *memKeys) EnsureSigningKey(_ context.Context, purpose string, secret []byte) (SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.keys) == 0 {
		m.keys = []SigningKey{{Purpose: purpose, Generation: 1, Secret: secret}}
	}
	return m.keys[0], nil
}

func (m *memKeys) SigningKeys(_ context.Context, purpose string) ([]SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if m.failing {
		return nil, errors.New("database is restarting")
	}
	return append([]SigningKey(nil), m.keys...), nil
}

// A store that cannot be read when the keys are due for a refresh leaves
// the keys held in use, and is asked again after KeyRetry, not on every
// request.
func TestKeysHeldWhenTheStoreIsAway(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	st := &memKeys{}
	k := &Keyring{Store: st, Purpose: "test", Now: func() time.Time { return now }}
	held, err := k.Load(t.Context(), false)
	if err != nil || len(held) != 1 || held[0].Generation != 1 {
		t.Fatalf("first load: %v, %v; want the key it made", held, err)
	}
	st.mu.Lock()
	st.failing = true
	st.mu.Unlock()
	now = now.Add(KeyRefresh + time.Second)
	for range 3 {
		got, err := k.Load(t.Context(), false)
		if err != nil || len(got) == 0 || got[0].Generation != held[0].Generation {
			t.Fatalf("load with the store away: %v, %v; want the keys held", got, err)
		}
	}
	if st.reads != 2 {
		t.Errorf("the store was read %d times, want 2 (the first load, then one try)", st.reads)
	}
}

// A store that cannot be read before any key is held is an error that
// names the purpose: nothing can be signed.
func TestKeysUnreadable(t *testing.T) {
	t.Parallel()
	k := &Keyring{Store: &memKeys{failing: true}, Purpose: "console-events"}
	if _, err := k.Load(t.Context(), false); err == nil || !strings.Contains(err.Error(), "console-events") {
		t.Fatalf("Load with the store away = %v, want an error naming the purpose", err)
	}
}
