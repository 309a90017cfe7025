package storetest

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/internal/testcheck"
)

// RunKeys runs the auth.KeyStore contract; open returns a new, empty store
// for each subtest. Beyond the interface's doc comments it pins down: a
// purpose without keys lists none; Rotate on such a purpose stores
// generation 1; the newest key never expires; a rotation keeps an expiry
// set earlier when it is sooner; purposes are independent.
func RunKeys(t *testing.T, open func(t *testing.T) auth.KeyStore) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, st auth.KeyStore)
	}{
		{"EnsureStoresOnce", testEnsureOnce},
		{"EnsureRace", testEnsureRace},
		{"Rotate", testRotate},
		{"RotateWithoutGrace", testRotateNoGrace},
		{"RotateRace", testRotateRace},
		{"Purposes", testPurposes},
		{"Invalid", testKeysInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

const slack = 2 * time.Second

func generations(t *testing.T, st auth.KeyStore, purpose string) []int {
	t.Helper()
	ks, err := st.SigningKeys(t.Context(), purpose)
	if err != nil {
		t.Fatalf("SigningKeys(%q): %v", purpose, err)
	}
	gens := []int{}
	for _, k := range ks {
		gens = append(gens, k.Generation)
	}
	return gens
}

func testEnsureOnce(t *testing.T, st auth.KeyStore) {
	ctx := t.Context()
	if got := generations(t, st, "webchat"); len(got) != 0 {
		t.Fatalf("keys of an empty store: %v", got)
	}
	first, second := auth.NewSigningSecret(), auth.NewSigningSecret()
	before := time.Now()
	k, err := st.EnsureSigningKey(ctx, "webchat", first)
	if err != nil {
		t.Fatal(err)
	}
	if k.Purpose != "webchat" || k.Generation != 1 || !bytes.Equal(k.Secret, first) || !k.ExpiresAt.IsZero() ||
		k.CreatedAt.Before(before.Add(-slack)) || k.CreatedAt.After(time.Now().Add(slack)) {
		t.Errorf("first key = %+v", k)
	}
	again, err := st.EnsureSigningKey(ctx, "webchat", second)
	if err != nil {
		t.Fatal(err)
	}
	if again.Generation != 1 || !bytes.Equal(again.Secret, first) || !again.CreatedAt.Equal(k.CreatedAt) {
		t.Errorf("EnsureSigningKey with a key stored replaced it: %+v", again)
	}
	ks, err := st.SigningKeys(ctx, "webchat")
	if err != nil || len(ks) != 1 || !bytes.Equal(ks[0].Secret, first) || !ks[0].CreatedAt.Equal(k.CreatedAt) {
		t.Errorf("SigningKeys = %+v, %v; want the one first key", ks, err)
	}
}

// testEnsureRace is replicas starting at once: every one gets the same key.
func testEnsureRace(t *testing.T, st auth.KeyStore) {
	ctx := t.Context()
	const n = 8
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := st.EnsureSigningKey(ctx, "webchat", auth.NewSigningSecret())
			got[i], errs[i] = k.Secret, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("EnsureSigningKey %d: %v", i, errs[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("replica %d got another key than replica 0", i)
		}
	}
	if g := generations(t, st, "webchat"); !slices.Equal(g, []int{1}) {
		t.Errorf("generations after the race: %v, want [1]", g)
	}
}

func testRotate(t *testing.T, st auth.KeyStore) {
	ctx := t.Context()
	// Rotating a purpose without keys starts it.
	k1, err := st.RotateSigningKey(ctx, "webchat", auth.NewSigningSecret(), time.Hour)
	if err != nil || k1.Generation != 1 || !k1.ExpiresAt.IsZero() {
		t.Fatalf("first rotation: %+v, %v", k1, err)
	}
	start := time.Now()
	secret2 := auth.NewSigningSecret()
	k2, err := st.RotateSigningKey(ctx, "webchat", secret2, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if k2.Generation != 2 || !bytes.Equal(k2.Secret, secret2) || !k2.ExpiresAt.IsZero() {
		t.Errorf("second key = %+v", k2)
	}
	// Ensure now returns the newest key.
	if k, err := st.EnsureSigningKey(ctx, "webchat", auth.NewSigningSecret()); err != nil || k.Generation != 2 {
		t.Errorf("EnsureSigningKey after a rotation = generation %d, %v; want 2", k.Generation, err)
	}
	// A longer grace does not extend the first key's.
	if _, err := st.RotateSigningKey(ctx, "webchat", auth.NewSigningSecret(), 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	ks, err := st.SigningKeys(ctx, "webchat")
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 3 || ks[0].Generation != 3 || ks[1].Generation != 2 || ks[2].Generation != 1 {
		t.Fatalf("keys after two rotations: %+v", ks)
	}
	near := func(what string, got, want time.Time) {
		if got.Before(want.Add(-slack)) || got.After(want.Add(slack)) {
			t.Errorf("%s expires at %v, want about %v", what, got, want)
		}
	}
	if !ks[0].ExpiresAt.IsZero() {
		t.Errorf("the newest key expires at %v", ks[0].ExpiresAt)
	}
	near("generation 2", ks[1].ExpiresAt, start.Add(3*time.Hour))
	near("generation 1", ks[2].ExpiresAt, start.Add(time.Hour))
}

// testRotateNoGrace is a rotation after a leak: the old keys stop at once.
func testRotateNoGrace(t *testing.T, st auth.KeyStore) {
	ctx := t.Context()
	if _, err := st.EnsureSigningKey(ctx, "webchat", auth.NewSigningSecret()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RotateSigningKey(ctx, "webchat", auth.NewSigningSecret(), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // past the expiry, whatever the clock's precision
	if g := generations(t, st, "webchat"); !slices.Equal(g, []int{2}) {
		t.Errorf("generations after a rotation without grace: %v, want [2]", g)
	}
}

func testPurposes(t *testing.T, st auth.KeyStore) {
	ctx := t.Context()
	a, err := st.EnsureSigningKey(ctx, "webchat", auth.NewSigningSecret())
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.EnsureSigningKey(ctx, "other", auth.NewSigningSecret())
	if err != nil {
		t.Fatal(err)
	}
	if b.Generation != 1 || bytes.Equal(a.Secret, b.Secret) {
		t.Errorf("a second purpose shares the first's key: %+v", b)
	}
	if _, err := st.RotateSigningKey(ctx, "other", auth.NewSigningSecret(), 0); err != nil {
		t.Fatal(err)
	}
	if g := generations(t, st, "webchat"); !slices.Equal(g, []int{1}) {
		t.Errorf("rotating another purpose changed webchat's keys: %v", g)
	}
}

func testKeysInvalid(t *testing.T, st auth.KeyStore) {
	ctx := t.Context()
	good := auth.NewSigningSecret()
	for _, c := range []struct {
		purpose string
		secret  []byte
	}{
		{"", good},
		{"web chat", good},
		{"webchat\x00", good},
		{string(bytes.Repeat([]byte("p"), auth.MaxPurposeLen+1)), good},
		{"webchat", good[:auth.SigningKeyBytes-1]},
		{"webchat", nil},
	} {
		_, err := st.EnsureSigningKey(ctx, c.purpose, c.secret)
		testcheck.WantErr(t, "EnsureSigningKey("+c.purpose+")", err, relais.ErrInvalid)
		_, err = st.RotateSigningKey(ctx, c.purpose, c.secret, time.Hour)
		testcheck.WantErr(t, "RotateSigningKey("+c.purpose+")", err, relais.ErrInvalid)
	}
	_, err := st.RotateSigningKey(ctx, "webchat", good, -time.Second)
	testcheck.WantErr(t, "RotateSigningKey with a negative grace", err, relais.ErrInvalid)
	if g := generations(t, st, "webchat"); len(g) != 0 {
		t.Errorf("refused calls stored keys: %v", g)
	}
}

// testRotateRace is rotations after a leak, on several machines at once,
// without grace: whatever each one gets (its key, or relais.ErrConflict),
// only the newest key verifies afterwards.
func testRotateRace(t *testing.T, st auth.KeyStore) {
	ctx := t.Context()
	if _, err := st.EnsureSigningKey(ctx, "webchat", auth.NewSigningSecret()); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = st.RotateSigningKey(ctx, "webchat", auth.NewSigningSecret(), 0)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, relais.ErrConflict) {
			t.Fatalf("rotation %d: %v, want success or relais.ErrConflict", i, err)
		}
	}
	time.Sleep(10 * time.Millisecond) // past the expiry, whatever the clock's precision
	if g := generations(t, st, "webchat"); len(g) != 1 {
		t.Errorf("generations still verifying after racing rotations without grace: %v, want the newest alone", g)
	}
}
