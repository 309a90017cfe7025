package sqlite

import (
	"testing"

	"relais/knowledge"
	"relais/knowledge/storetest"
)

func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) knowledge.Store { return openTestDB(t) })
}
