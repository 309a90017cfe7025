package postgres

import (
	"testing"

	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/auth/storetest"
)

func TestTokenStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store { return openDB(t) })
}

func TestSigningKeyStoreContract(t *testing.T) {
	storetest.RunKeys(t, func(t *testing.T) auth.KeyStore { return openDB(t) })
}
