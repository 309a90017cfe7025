package sqlite

import (
	"testing"

	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/auth/storetest"
)

func TestTokenStoreContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) auth.Store { return openTestDB(t) })
}

func TestSigningKeyStoreContract(t *testing.T) {
	t.Parallel()
	storetest.RunKeys(t, func(t *testing.T) auth.KeyStore { return openTestDB(t) })
}
