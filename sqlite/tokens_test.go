package sqlite

import (
	"testing"

	"relais/auth"
	"relais/auth/storetest"
)

func TestTokenStoreContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) auth.Store { return openTestDB(t) })
}

func TestSigningKeyStoreContract(t *testing.T) {
	t.Parallel()
	storetest.RunKeys(t, func(t *testing.T) auth.KeyStore { return openTestDB(t) })
}
