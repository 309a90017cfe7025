// Package storetest is the contract every auth.Store implementation must
// meet, run by each store's own tests:
//
//	storetest.Run(t, func(t *testing.T) auth.Store { return openTestDB(t) })
package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/internal/testcheck"
)

// Run runs the contract; open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) auth.Store) {
	for _, tt := range []struct {
		name string
		fn   func(t *testing.T, st auth.Store)
	}{
		{"CreateAndLookUp", testCreateAndLookUp},
		{"Revoke", testRevoke},
		{"Invalid", testInvalid},
		{"ActiveTokensNamed", testActiveTokensNamed},
		{"FindAgent", testFindAgent},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

func testCreateAndLookUp(t *testing.T, st auth.Store) {
	ctx := t.Context()
	secret, tok, err := auth.Issue(ctx, st, "alice", auth.Agent)
	if err != nil {
		t.Fatal(err)
	}
	if tok.ID == 0 || tok.Name != "alice" || tok.Role != auth.Agent || tok.CreatedAt.IsZero() || tok.Revoked() {
		t.Errorf("created token = %+v", tok)
	}
	got, err := st.TokenByDigest(ctx, auth.DigestOf(secret))
	if err != nil {
		t.Fatal(err)
	}
	if got != tok {
		t.Errorf("TokenByDigest = %+v, want %+v", got, tok)
	}
	_, err = st.TokenByDigest(ctx, auth.DigestOf(secret+"x"))
	testcheck.WantErr(t, "TokenByDigest of an unknown token", err, relais.ErrNotFound)
	_, err = st.CreateToken(ctx, "mallory", auth.Admin, auth.DigestOf(secret))
	testcheck.WantErr(t, "CreateToken with a stored digest", err, relais.ErrConflict)

	// One person may hold several tokens (rotation): same name, two rows.
	if _, _, err := auth.Issue(ctx, st, "alice", auth.Agent); err != nil {
		t.Fatal(err)
	}
	ts, err := st.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0] != tok || ts[1].ID <= tok.ID {
		t.Errorf("Tokens = %+v, want the two tokens oldest first", ts)
	}
}

func testRevoke(t *testing.T, st auth.Store) {
	ctx := t.Context()
	secret, tok, err := auth.Issue(ctx, st, "ed", auth.Editor)
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := st.RevokeToken(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !revoked.Revoked() || revoked.ID != tok.ID {
		t.Errorf("revoked token = %+v", revoked)
	}
	_, err = st.TokenByDigest(ctx, auth.DigestOf(secret))
	testcheck.WantErr(t, "TokenByDigest of a revoked token", err, relais.ErrNotFound)
	again, err := st.RevokeToken(ctx, tok.ID)
	if err != nil || !again.RevokedAt.Equal(revoked.RevokedAt) {
		t.Errorf("second revoke = %+v, %v; want the first revocation kept", again, err)
	}
	ts, err := st.Tokens(ctx)
	if err != nil || len(ts) != 1 || !ts[0].Revoked() {
		t.Errorf("Tokens after revoke = %+v, %v; want the revoked token listed", ts, err)
	}
	_, err = st.RevokeToken(ctx, tok.ID+1000)
	testcheck.WantErr(t, "RevokeToken of an unknown id", err, relais.ErrNotFound)
}

func testInvalid(t *testing.T, st auth.Store) {
	ctx := t.Context()
	_, d := auth.NewSecret()
	for _, tt := range []struct {
		name string
		role auth.Role
	}{
		{"", auth.Agent},
		{" alice", auth.Agent},
		{strings.Repeat("a", auth.MaxNameLen+1), auth.Agent},
		{"al\x00ice", auth.Agent},
		{"al\nice", auth.Agent},
		{"alice", "root"},
	} {
		_, err := st.CreateToken(ctx, tt.name, tt.role, d)
		testcheck.WantErr(t, "CreateToken("+tt.name+", "+string(tt.role)+")", err, relais.ErrInvalid)
	}
	if ts, err := st.Tokens(ctx); err != nil || len(ts) != 0 {
		t.Errorf("Tokens after refused creations = %+v, %v", ts, err)
	}
}

func testActiveTokensNamed(t *testing.T, st auth.Store) {
	ctx := t.Context()
	_, first, err := auth.Issue(ctx, st, "alice", auth.Agent)
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := auth.Issue(ctx, st, "alice", auth.Editor)
	if err != nil {
		t.Fatal(err)
	}
	_, revoked, err := auth.Issue(ctx, st, "alice", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeToken(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := auth.Issue(ctx, st, "alice2", auth.Agent); err != nil {
		t.Fatal(err)
	}
	got, err := st.ActiveTokensNamed(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != first || got[1] != second {
		t.Errorf("ActiveTokensNamed(alice) = %+v, want the agent and editor tokens, oldest first, without the revoked one", got)
	}
	for _, name := range []string{"nobody", "Alice", "alic", ""} {
		got, err := st.ActiveTokensNamed(ctx, name)
		if err != nil || len(got) != 0 {
			t.Errorf("ActiveTokensNamed(%q) = %+v, %v; want none and no error", name, got, err)
		}
	}
}

func testFindAgent(t *testing.T, st auth.Store) {
	ctx := t.Context()
	for _, tok := range []struct {
		name string
		role auth.Role
	}{{"alice", auth.Agent}, {"sue", auth.Admin}, {"ed", auth.Editor}, {"bob", auth.Agent}} {
		if _, _, err := auth.Issue(ctx, st, tok.name, tok.role); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := st.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeToken(ctx, ts[len(ts)-1].ID); err != nil { // bob's
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		known bool
	}{
		{"alice", true},
		{"sue", true}, // an admin works the queue too
		{"ed", false}, // an editor does not
		{"bob", false},
		{"ghost", false},
	} {
		err := auth.FindAgent(ctx, st, tt.name)
		switch {
		case tt.known && err != nil:
			t.Errorf("FindAgent(%q) = %v, want nil", tt.name, err)
		case !tt.known && !errors.Is(err, relais.ErrNotFound):
			t.Errorf("FindAgent(%q) = %v, want ErrNotFound", tt.name, err)
		case !tt.known && !strings.Contains(err.Error(), "relais token create --role agent --name"):
			t.Errorf("FindAgent(%q) = %v, want it to say how to create the agent", tt.name, err)
		}
	}
	// The list a ticket can be reassigned to follows the same rule; a
	// second token of alice's names her once.
	if _, _, err := auth.Issue(ctx, st, "alice", auth.Agent); err != nil {
		t.Fatal(err)
	}
	if got, err := auth.AgentNames(ctx, st); err != nil || !slices.Equal(got, []string{"alice", "sue"}) {
		t.Errorf("AgentNames = %v, %v; want [alice sue]", got, err)
	}
}
